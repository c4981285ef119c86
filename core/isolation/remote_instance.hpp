// RemoteInstance: the host-side state of one driver instance whose code runs in a child process
// (remote_driver.hpp says what it promises). Internal to core/isolation: remote_driver.cpp holds
// the calls into the driver and the process's life, remote_services.cpp serves what the driver
// asks of the host.
#pragma once

#include "core/isolation/driver_channel.hpp"
#include "core/isolation/remote_driver.hpp"

#include <oemlink/driver.h>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace oemlink::isolation {

// What the host owes the driver a completion for, or the driver owes the host.
struct Completion {
  void* fn = nullptr;
  void* ctx = nullptr;
  uint64_t conn = 0;
};

// The webhook answer while the driver's process is away (not started, lost, restarting): 503 with
// Retry-After, which senders retry.
void answer_unavailable(oemlink_webhook_respond_fn respond, void* ctx);

// The `oemlink.link/1` table whose calls travel to the child (remote_driver.cpp); `flags` is
// filled once the child has said what its driver's table holds.
oemlink_link_extension remote_link_table();

// One run of the driver's process.
struct ChildRun {
  pid_t pid = -1;
  std::atomic<bool> reaped{false};  // once waited for, its pid may be another process's
  uint64_t generation = 0;
  std::unique_ptr<DriverChannel> channel;
  std::chrono::steady_clock::time_point started;
};

// A connection as the host opened it: re-opened in each new process.
struct OpenConnection {
  std::string id, vin, identifiers_json;
  uint64_t vehicle_token_id = 0, synthetic_token_id = 0;
  bool open_in_child = false;
};

class RemoteInstance : public std::enable_shared_from_this<RemoteInstance> {
 public:
  RemoteInstance(RemoteDriverOptions options, const oemlink_host* host, std::string settings_json);
  // The last reference may be let go of on a channel's own thread (the reader handling its
  // process's loss when the host destroyed the instance): a run whose channel threads have not
  // returned is kept by a thread of its own until they have, never destroyed under them.
  ~RemoteInstance();

  // --- remote_driver.cpp -------------------------------------------------------------------
  // Starts a process and creates the instance in it; on failure `error` says why.
  bool start_child(std::string& error);
  void destroy();
  oemlink_status open(oemlink_conn* conn, const oemlink_conn_info* info, char* err, size_t cap);
  void close(oemlink_conn* conn);
  oemlink_status poll(oemlink_conn* conn, oemlink_poll_done_fn done, void* ctx);
  oemlink_status stream_start(oemlink_conn* conn, oemlink_stream_ended_fn ended, void* ctx);
  void stream_stop(oemlink_conn* conn);
  oemlink_status webhook(const oemlink_http_request* request, oemlink_webhook_respond_fn respond,
                         void* ctx);
  const void* get_extension(const char* id) const;
  oemlink_status authorize_url(const oemlink_link_authorize* request, char* buf, size_t cap,
                               size_t* size);
  oemlink_status exchange_code(const oemlink_link_callback* callback,
                               oemlink_link_exchanged_fn done, void* ctx);
  oemlink_status list_vehicles(const oemlink_str* keys, const oemlink_str* values, size_t count,
                               oemlink_link_vehicles_fn done, void* ctx);
  void kill_child(const std::string& why);
  long pid() const;
  // [timer] The back-off after a loss ended: a new process.
  void restart();

  // --- remote_services.cpp -----------------------------------------------------------------
  // [reader thread of `run`] A frame from the driver's process.
  void on_child_frame(const std::shared_ptr<ChildRun>& run, FrameReader& r);
  // [reader thread of `run`, or whoever closed it] The process is gone.
  void on_child_lost(const std::shared_ptr<ChildRun>& run, const std::string& why);

  const oemlink_host* host() const { return host_; }
  // [any-thread] A timer the current process started has fired or been cancelled.
  void forget_timer(uint64_t id);
  const RemoteDriverOptions& options() const { return opts_; }
  // Sends a host callback to the process run `generation`, if it is still the current one.
  void send_to(uint64_t generation, FrameWriter& w);

  oemlink_link_extension link_table{};

 private:
  std::shared_ptr<ChildRun> current() const;
  std::optional<ReplyFrame> call_child(const std::shared_ptr<ChildRun>& run, FrameWriter& w,
                                       const char* what);
  // Reads the reply to `what` with `read`; a reply of the wrong shape is the process's fault, not
  // the host's: it is logged, the process is ended (and restarted), and false is returned.
  template <class Read>
  bool read_reply(const std::shared_ptr<ChildRun>& run, const ReplyFrame& reply, const char* what,
                  Read&& read);
  bool open_in(const std::shared_ptr<ChildRun>& run, uint64_t conn, const OpenConnection& c,
               std::string& error);
  // Registers a completion under a new token; the caller sends the token to the child.
  uint64_t expect(std::unordered_map<uint64_t, Completion>& in, Completion c);
  std::optional<Completion> take(std::unordered_map<uint64_t, Completion>& in, uint64_t token);
  // Starts what the driver completes later through `in` (a stream's end, a link result): the
  // completion is registered under a token `fill` writes into the call.
  oemlink_status start_owed(std::unordered_map<uint64_t, Completion>& in, Completion c,
                            uint16_t kind, const char* what,
                            const std::function<void(FrameWriter&, uint64_t)>& fill);
  bool known_conn(uint64_t conn) const;
  void fail_everything_owed(const std::string& how);
  void schedule_restart(std::chrono::milliseconds delay);
  // Waits for the run's process to end (killing it after `grace`); how it ended, in words.
  static std::string reap(ChildRun& run, std::chrono::milliseconds grace);
  static void kill_run(ChildRun& run);

  const RemoteDriverOptions opts_;
  const oemlink_host* host_;
  const std::string settings_;
  std::string webhook_url_;
  bool has_webhook_url_ = false;
  const oemlink_mqtt_service* mqtt_ = nullptr;
  std::atomic<uint32_t> link_flags_{0};  // bit 0: it has the link extension; bits 8+: its flags

  mutable std::mutex mu_;
  std::shared_ptr<ChildRun> child_;  // null while down
  // Runs whose process ended: destroyed once their channel's threads have returned, so never
  // on one of those threads.
  std::vector<std::shared_ptr<ChildRun>> ended_;
  void release_finished_runs();
  uint64_t generation_ = 0;
  bool destroying_ = false;
  bool live_ = false;  // the first create succeeded: from then on a lost process is restarted
  bool restart_pending_ = false;
  std::chrono::milliseconds next_delay_;
  std::unordered_map<uint64_t, OpenConnection> conns_;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Completion> polls_, streams_, webhooks_, exchanges_, lists_;
  // Host resources the current process holds: timers it may cancel, subscriptions it may end.
  std::unordered_map<uint64_t, void*> timers_;  // host timer id → ctx
  std::unordered_map<uint64_t, void*> subs_;    // host subscription id → ctx

  friend struct RemoteServices;
};

}  // namespace oemlink::isolation
