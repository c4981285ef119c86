// oemlink SDK test kit — a host table for unit-testing a driver without a host: it records what
// the driver emits, reports, logs and counts; its clock is a number the test sets; timers fire
// only when the test runs them; HTTP requests are answered from replies the test scripts; the
// secret store is a map whose next calls the test can make fail. Every asynchronous path thus
// runs deterministically on the test's thread.
//
// Not thread-safe: drive it from one thread (a driver whose callbacks hop threads needs a host
// of its own for that test). Uses the C++ standard library only; no test framework.
#ifndef OEMLINK_TESTKIT_FAKE_HOST_HPP
#define OEMLINK_TESTKIT_FAKE_HOST_HPP

#include <oemlink/driver.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::testkit {

struct RecordedReading {
  std::string name;
  int64_t timestamp_ms = 0;
  oemlink_value_kind kind = OEMLINK_VALUE_NUMBER;
  double number = 0;
  std::string text;
  double latitude = 0;
  double longitude = 0;

  bool operator==(const RecordedReading&) const = default;
};

struct RecordedEmit {
  oemlink_conn* conn = nullptr;
  std::vector<RecordedReading> readings;
  oemlink_status answered = OEMLINK_OK;
};

struct RecordedState {
  oemlink_conn* conn = nullptr;
  oemlink_conn_state state = OEMLINK_STATE_OK;
  int64_t until_unix_ms = 0;
  std::string reason;
};

struct RecordedLog {
  oemlink_conn* conn = nullptr;
  oemlink_log_level level = OEMLINK_LOG_INFO;
  std::string message;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct RecordedRequest {
  oemlink_conn* conn = nullptr;
  std::string method;
  std::string url;
  Headers headers;
  std::string body;
  uint32_t timeout_ms = 0;

  // The first header called `name` (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
};

// What the fake host answers one HTTP request with.
struct HttpReply {
  oemlink_status status = OEMLINK_OK;  // OK: a response arrived; RETRY: transport failure
  int http_status = 200;
  Headers headers;
  std::string body;
  std::string error;  // with RETRY: "timeout", "TLS handshake failed", ...

  static HttpReply with_status(int http_status, std::string body = {}, Headers headers = {});
  static HttpReply transport_failure(std::string error);
};

class FakeHost {
 public:
  FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;
  // Answers HTTP requests still pending with RETRY ("fake host shut down") and cancels pending
  // timers, as a host does at shutdown: every callback the driver was promised runs once.
  ~FakeHost();

  const oemlink_host* table() const { return &table_; }

  // --- clock and timers
  int64_t now_ms = 1'700'000'000'000;  // the clock drivers see (Unix ms)
  // Fires every timer due at now_ms (advancing the clock first by `advance_ms`), including
  // timers started by the callbacks if they are due too. Returns how many fired.
  int run_timers(int64_t advance_ms = 0);
  size_t pending_timers() const { return timers_.size(); }
  int cancelled_timers = 0;
  // When set, timer_cancel leaves the timer to fire normally later, as when cancellation
  // races with a timer that is already firing on another thread.
  bool cancel_loses_race = false;

  // --- emit, report_state, log, counters
  oemlink_status emit_answer = OEMLINK_OK;  // what emit() answers next
  bool record_emits = true;                 // off for timing runs: only count them
  uint64_t emit_calls = 0;
  std::vector<RecordedEmit> emits;  // including refused ones
  std::vector<RecordedState> states;
  std::vector<RecordedLog> logs;
  std::map<std::string, uint64_t> counters;  // by the name the driver passed

  // --- HTTP
  // Every request the driver started, in order (also the rejected ones).
  std::vector<RecordedRequest> requests;
  // Replies for the next requests, in order. A request that arrives with none queued waits
  // until one is scripted and deliver_http() runs.
  void script_http(HttpReply reply) { scripted_.push_back(std::move(reply)); }
  // When set, a request that finds a scripted reply is answered before http_request returns
  // (the ABI allows it, and drivers must cope); otherwise only deliver_http() answers.
  bool answer_http_inline = false;
  // Answers waiting requests, oldest first, while scripted replies last. Returns how many.
  int deliver_http();
  size_t pending_http() const { return waiting_.size(); }
  // What http_request returns; ERROR simulates a request the host refuses as malformed.
  oemlink_status http_accept = OEMLINK_OK;

  // --- secrets (per connection, as the host keeps them)
  std::map<std::pair<oemlink_conn*, std::string>, std::string> secrets;
  int secret_get_calls = 0;
  int secret_put_calls = 0;
  // The next N secret_get / secret_put calls fail as a storage failure would (OEMLINK_ERROR;
  // a failing put writes nothing).
  int fail_next_secret_gets = 0;
  int fail_next_secret_puts = 0;

  // --- optional services, by id
  std::map<std::string, const void*> services;

 private:
  struct Timer {
    int64_t due_ms;
    oemlink_timer_fn fn;
    void* ctx;
  };
  struct WaitingRequest {
    oemlink_http_done_fn done;
    void* ctx;
  };

  static FakeHost& self(const oemlink_host* h);
  static void answer(const WaitingRequest& request, const HttpReply& reply);

  oemlink_host table_{};
  std::map<uint64_t, Timer> timers_;
  uint64_t next_timer_id_ = 1;
  std::deque<HttpReply> scripted_;
  std::deque<WaitingRequest> waiting_;
};

}  // namespace oemlink::testkit

#endif  // OEMLINK_TESTKIT_FAKE_HOST_HPP
