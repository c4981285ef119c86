// A host table for driver tests: records what a driver emits and reports, with a clock the test
// sets and timers the test fires by hand, so every asynchronous path runs deterministically on
// the test's thread.
#ifndef OEMLINK_TESTS_SDK_FAKE_HOST_HPP
#define OEMLINK_TESTS_SDK_FAKE_HOST_HPP

#include <oemlink/driver.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace oemlink::test {

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

class FakeHost {
 public:
  FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;
  ~FakeHost();  // cancels pending timers, as a host does at shutdown

  const oemlink_host* table() const { return &table_; }

  int64_t now_ms = 1'700'000'000'000;       // the clock drivers see
  oemlink_status emit_answer = OEMLINK_OK;  // what emit() answers next
  bool record_emits = true;                 // off for timing runs: only count them
  uint64_t emit_calls = 0;

  std::vector<RecordedEmit> emits;  // including refused ones
  std::vector<RecordedState> states;
  std::vector<std::string> logs;

  // Fires every timer due at now_ms (advancing the clock first by `advance_ms`), including
  // timers started by the callbacks if they are due too. Returns how many fired.
  int run_timers(int64_t advance_ms = 0);
  size_t pending_timers() const { return timers_.size(); }
  int cancelled_timers = 0;
  // When set, timer_cancel leaves the timer to fire normally later, as when cancellation
  // races with a timer that is already firing on another thread.
  bool cancel_loses_race = false;

 private:
  struct Timer {
    int64_t due_ms;
    oemlink_timer_fn fn;
    void* ctx;
  };

  static FakeHost& self(const oemlink_host* h);

  oemlink_host table_{};
  std::map<uint64_t, Timer> timers_;
  uint64_t next_timer_id_ = 1;
};

}  // namespace oemlink::test

#endif  // OEMLINK_TESTS_SDK_FAKE_HOST_HPP
