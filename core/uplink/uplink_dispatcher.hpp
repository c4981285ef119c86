// UplinkDispatcher moves one sink's events from the outbox to its EventDeliverer.
//
// It reads durable records at the sink's cursor, keeps at most one delivery in flight per
// connection (so each car's events arrive in order, retries included) and at most the
// deliverer's max_in_flight overall, backs off per connection with jitter after a retry (never
// sooner than the peer's Retry-After), dead-letters what the peer rejects, and acknowledges
// delivered records to the outbox in batches from a worker thread (an acknowledgement is a
// durable write; the event loop never waits for the disk).
//
// Threading: everything runs on the host loop thread except the acknowledgement writer.
#pragma once

#include "core/common/splitmix64.hpp"

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/store/outbox_store.hpp"
#include "core/uplink/event_deliverer.hpp"
#include "core/uplink/uplink_clock.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace oemlink::uplink {

struct DispatcherOptions {
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{60'000};
  size_t read_batch = 512;                     // records read from the outbox at a time
  size_t max_pending = 20'000;                 // records read but not yet delivered (bounds memory)
  std::chrono::milliseconds ack_interval{20};  // acknowledgements are written this often
};

struct DispatcherStats {
  uint64_t delivered = 0, retried = 0, dead_lettered = 0;
  size_t in_flight = 0, pending = 0;
  // Time from append to the peer's acknowledgement, over every delivery since start (ms).
  int64_t latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
  // UplinkClock::steady_ms() of the last delivery the peer acknowledged; 0: none since start.
  // A dead letter is not a delivery. Readiness (/readyz) compares it with the sink's staleness.
  int64_t last_delivered_steady_ms = 0;
  // When this dispatcher started (a sink added or changed by a reload starts later than the
  // daemon): a sink that never delivered counts its staleness from here.
  int64_t started_steady_ms = 0;
};

class UplinkDispatcher {
 public:
  // `clock` defaults to a SystemUplinkClock on `io`.
  UplinkDispatcher(boost::asio::io_context& io, store::OutboxStore& outbox,
                   std::unique_ptr<EventDeliverer> deliverer, MetricsRegistry& metrics,
                   DispatcherOptions options = {}, std::unique_ptr<UplinkClock> clock = nullptr);
  ~UplinkDispatcher();
  UplinkDispatcher(const UplinkDispatcher&) = delete;
  UplinkDispatcher& operator=(const UplinkDispatcher&) = delete;

  std::string_view name() const { return deliverer_->name(); }

  // [loop] Starts from the sink's persisted cursor.
  void start();
  // [loop] More records may be durable now.
  void wake();
  // [loop] Stops reading and delivering, fails what is in flight back to the outbox, and writes
  // the acknowledgements collected so far before returning.
  void stop();

  DispatcherStats stats() const;
  // [loop] Starts the latency histogram afresh (a benchmark's steady-state window).
  void reset_latency() {
    latency_ms_.assign(latency_ms_.size(), 0);
    latency_max_ms_ = 0;
  }

 private:
  struct ConnQueue {
    std::deque<store::OutboxRecord> records;
    bool busy = false;     // a delivery for this connection is in flight
    bool waiting = false;  // backing off; a timer will resume it
    uint8_t failures = 0;
    std::unique_ptr<BackoffTimer> timer;
  };

  void pump();
  void refill();
  void take(std::vector<store::OutboxRecord> batch, size_t wanted);
  void start_next(const std::string& connection, ConnQueue& q);
  void finish(const std::string& connection, DeliveryResult result);
  std::chrono::milliseconds backoff(uint8_t failures);
  void queue_ack(uint64_t seq);
  void queue_dead_letter(uint64_t seq, std::string reason);
  void ack_writer();

  boost::asio::io_context& io_;
  store::OutboxStore& outbox_;
  std::unique_ptr<EventDeliverer> deliverer_;
  DispatcherOptions opts_;
  std::string sink_;
  std::unique_ptr<UplinkClock> clock_;

  uint64_t read_pos_ = 0;  // highest seq handed to the per-connection queues
  size_t pending_ = 0;     // records in the queues, in flight included
  size_t in_flight_ = 0;
  bool stopped_ = true;
  bool reading_ = false;        // a read is running on the reader thread
  bool may_have_more_ = false;  // a wake or a full batch since the last read
  bool pumping_ = false;
  bool pump_again_ = false;
  std::unordered_map<std::string, ConnQueue> conns_;
  std::deque<std::string> ready_;          // connections with work and nothing in flight
  SplitMix64 rng_{0x9e3779b97f4a7c15ULL};  // back-off jitter

  // Acknowledgement writer: the loop hands seqs over; a thread makes them durable.
  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  std::vector<uint64_t> acks_;
  std::vector<std::pair<uint64_t, std::string>> dead_;
  bool ack_stop_ = false;
  std::thread ack_thread_;
  // Outbox reads run here: a read waits for the outbox's connection, which a commit's fsync may
  // hold for milliseconds, and the event loop must not wait with it.
  std::unique_ptr<boost::asio::thread_pool> reader_;

  std::vector<uint64_t> latency_ms_;  // histogram, 1 ms buckets up to 60 s (last = beyond)
  int64_t latency_max_ms_ = 0;
  int64_t last_delivered_steady_ms_ = 0;
  int64_t started_steady_ms_ = 0;
  Counter& delivered_;
  Counter& retried_;
  Counter& dead_lettered_;
  Counter& held_;
  Histogram& latency_;  // oemlink_sink_delivery_latency_seconds{sink}
  LogGate log_;
  std::shared_ptr<bool> alive_;  // expires with the dispatcher; callbacks check it
};

}  // namespace oemlink::uplink
