// One simulated car behind the oemlink connection interface: polls (synchronous or after a
// simulated latency), streams on a host timer, and the configured failure injection.
#ifndef OEMLINK_MOCK_CONNECTION_HPP
#define OEMLINK_MOCK_CONNECTION_HPP

#include "car_sim.hpp"
#include "mock_settings.hpp"
#include "mock_webhook.hpp"

#include <oemlink/driver.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace oemlink::mock {

// What every connection of one instance shares.
struct MockInstance {
  Host host;
  MockSettings settings;
  std::string rate_limited_reason;        // "mock: 429 Retry-After N", formatted once
  mutable ConnectionDirectory directory;  // filled only with settings.webhook; locks itself
};

struct StreamTicket;

class MockConnection final : public Connection {
 public:
  MockConnection(const MockInstance& instance, ConnHandle conn, uint64_t car_seed)
      : instance_(&instance), conn_(conn), car_seed_(car_seed) {}
  ~MockConnection() override;

  void poll(PollDone done) override;
  void stream_start(StreamEnded ended) override;
  void stream_stop() override;

 private:
  // Guards the car against a poll completing on a timer thread while a stream tick runs.
  // A flag, not a mutex: it is almost never contended and a million connections keep one each.
  class SpinLock {
   public:
    void lock();
    void unlock() { flag_.clear(std::memory_order_release); }

   private:
    std::atomic_flag flag_;
  };

  static void OEMLINK_CALL on_latency_elapsed(void* self, int32_t cancelled);
  static void OEMLINK_CALL on_stream_tick(void* ticket, int32_t cancelled);

  void finish_poll(PollDone done);
  // Emits the car's current batch, or the one the host last refused with back-pressure.
  oemlink_status deliver_batch();
  void report(oemlink_conn_state state, int64_t until_ms, std::string_view reason);
  void detach_stream();

  const MockInstance* instance_;
  ConnHandle conn_;
  uint64_t car_seed_;
  CarState car_;
  PollDone latency_done_;  // the poll waiting for its simulated latency
  StreamTicket* stream_ = nullptr;
  uint32_t polls_ = 0;
  uint32_t stream_batches_ = 0;
  SpinLock car_lock_;
  bool batch_refused_ = false;  // car_ still holds a batch the host has not taken
  oemlink_conn_state reported_state_ = OEMLINK_STATE_OK;
};

}  // namespace oemlink::mock

#endif  // OEMLINK_MOCK_CONNECTION_HPP
