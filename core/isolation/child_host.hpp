// ChildHost: the driver process's side of the channel. It loads the driver library through the
// same loader and ABI checks as the host, hands the driver an oemlink_host table whose services
// travel to the host, and runs every call the host sends on one driver thread, in the order
// sent: the host's loop is one thread, so a driver sees the same threading as in process.
//
// Threading: the channel's reader queues host frames; the driver thread runs them. Host services
// may be called from any thread (the driver's own included); the synchronous ones (emit, secrets,
// HTTP and timer starts, MQTT) wait for the host's reply.
#pragma once

#include "core/isolation/driver_channel.hpp"

#include <oemlink/driver.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace oemlink::isolation {

class ChildHost {
 public:
  // `channel_fd`: the socket to the host. `descriptor`: the loaded driver.
  ChildHost(int channel_fd, const oemlink_driver* descriptor, std::string name);
  ~ChildHost();

  // Serves the host until it closes the channel or destroys the instance; returns the exit code.
  int run();

  // [any-thread] The host services behind the driver's table (host_table_ below).
  void log(uint64_t conn, oemlink_log_level level, oemlink_str message);
  oemlink_status emit(uint64_t conn, const oemlink_reading* readings, size_t count);
  void report_state(uint64_t conn, oemlink_conn_state state, int64_t until, oemlink_str reason);
  oemlink_status http_request(uint64_t conn, const oemlink_http_request* request,
                              oemlink_http_done_fn done, void* ctx);
  oemlink_status secret_get(uint64_t conn, oemlink_str key, char* buf, size_t cap, size_t* size);
  oemlink_status secret_put(uint64_t conn, const oemlink_str* keys, const oemlink_str* values,
                            size_t count);
  uint64_t timer_start(uint32_t delay_ms, oemlink_timer_fn fn, void* ctx);
  void timer_cancel(uint64_t id);
  void counter_add(oemlink_str name, uint64_t delta);
  int64_t now_unix_ms() const;
  const void* get_service(const char* id) const;
  oemlink_status webhook_url(char* buf, size_t cap, size_t* size) const;
  uint64_t mqtt_subscribe(const oemlink_mqtt_subscription* sub, oemlink_mqtt_message_fn on_message,
                          oemlink_mqtt_status_fn on_status, void* ctx);
  void mqtt_unsubscribe(uint64_t id);

  // [any-thread] Completions the driver reports (ctx carries the host's token).
  void send_done(uint16_t kind, uint64_t token, oemlink_status status, oemlink_str message);
  void send_webhook_answer(uint64_t token, const oemlink_http_response* response);
  void send_link_exchanged(uint64_t token, oemlink_status status, const oemlink_str* keys,
                           const oemlink_str* values, size_t count, oemlink_str message);
  void send_link_vehicles(uint64_t token, oemlink_status status,
                          const oemlink_link_vehicle* vehicles, size_t count, oemlink_str message);

  // The connection id for a handle, for the crash line (empty when unknown).
  const std::string* connection_id(uint64_t conn) const;

 private:
  struct Callback {
    void* fn;
    void* ctx;
  };
  struct Subscription {
    oemlink_mqtt_message_fn on_message;
    oemlink_mqtt_status_fn on_status;
    void* ctx;
    uint64_t host_id = 0;
  };
  struct Conn {
    void* ctx = nullptr;
    std::string id;
  };

  void on_frame(FrameReader& r);
  void run_frame(const FrameHeader& h, const std::string& payload);
  void reply(FrameWriter& w);
  std::optional<ReplyFrame> call(FrameWriter& w);

  void do_create(uint64_t id, FrameReader& r);
  void do_open(uint64_t id, FrameReader& r);
  void do_close(uint64_t id, FrameReader& r);
  void do_poll(FrameReader& r);
  void do_stream_start(uint64_t id, FrameReader& r);
  void do_stream_stop(uint64_t id, FrameReader& r);
  void do_webhook(uint64_t id, FrameReader& r);
  void do_link_authorize(uint64_t id, FrameReader& r);
  void do_link_exchange(uint64_t id, FrameReader& r);
  void do_link_list(uint64_t id, FrameReader& r);
  void do_http_done(FrameReader& r);
  void do_timer_fired(FrameReader& r);
  void do_mqtt(uint16_t kind, FrameReader& r);
  void* conn_ctx(uint64_t conn) const;
  const oemlink_link_extension* link() const;

  const oemlink_driver* d_;
  std::string name_;
  DriverChannel channel_;
  oemlink_host table_{};
  oemlink_webhook_url_service webhook_service_{};
  oemlink_mqtt_service mqtt_service_{};
  oemlink_instance* inst_ = nullptr;
  std::string webhook_url_;
  bool has_webhook_url_ = false;
  bool has_mqtt_ = false;

  // Frames for the driver thread.
  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<std::pair<FrameHeader, std::string>> queue_;
  bool channel_gone_ = false;
  bool destroyed_ = false;
  std::thread::id driver_thread_;

  mutable std::mutex mu_;  // the maps below
  std::unordered_map<uint64_t, Conn> conns_;
  std::unordered_map<uint64_t, Callback> http_;      // by token
  std::unordered_map<uint64_t, Callback> timers_;    // by token
  std::unordered_map<uint64_t, Subscription> subs_;  // by token
  std::atomic<uint64_t> next_token_{1};
  // The subscription whose callback the driver thread is in (0: none): unsubscribe waits it out.
  uint64_t running_sub_ = 0;
  std::condition_variable sub_cv_;
};

}  // namespace oemlink::isolation
