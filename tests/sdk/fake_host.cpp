#include "tests/sdk/fake_host.hpp"

#include <utility>

namespace oemlink::test {
namespace {
std::string copy(oemlink_str s) {
  return s.data ? std::string(s.data, s.size) : std::string();
}
}  // namespace

FakeHost& FakeHost::self(const oemlink_host* h) {
  return *static_cast<FakeHost*>(h->host_data);
}

FakeHost::FakeHost() {
  table_.struct_size = sizeof table_;
  table_.abi_major = OEMLINK_ABI_MAJOR;
  table_.abi_minor = OEMLINK_ABI_MINOR;
  table_.host_data = this;
  table_.log = [](const oemlink_host* h, oemlink_conn*, oemlink_log_level, oemlink_str msg) {
    self(h).logs.push_back(copy(msg));
  };
  table_.emit = [](const oemlink_host* h, oemlink_conn* conn, const oemlink_reading* readings,
                   size_t count) -> oemlink_status {
    FakeHost& host = self(h);
    ++host.emit_calls;
    if (!host.record_emits) return host.emit_answer;
    RecordedEmit e;
    e.conn = conn;
    e.answered = host.emit_answer;
    for (size_t i = 0; i < count; ++i) {
      const oemlink_reading& r = readings[i];
      e.readings.push_back(
          {copy(r.name), r.timestamp_ms, r.kind, r.number, copy(r.text), r.latitude, r.longitude});
    }
    host.emits.push_back(std::move(e));
    return host.emit_answer;
  };
  table_.report_state = [](const oemlink_host* h, oemlink_conn* conn, oemlink_conn_state state,
                           int64_t until, oemlink_str reason) {
    self(h).states.push_back({conn, state, until, copy(reason)});
  };
  table_.http_request = [](const oemlink_host*, oemlink_conn*, const oemlink_http_request*,
                           oemlink_http_done_fn, void*) -> oemlink_status { return OEMLINK_ERROR; };
  table_.secret_get = [](const oemlink_host*, oemlink_conn*, oemlink_str, char*, size_t,
                         size_t* size) -> oemlink_status {
    *size = 0;
    return OEMLINK_ERROR;
  };
  table_.secret_put = [](const oemlink_host*, oemlink_conn*, const oemlink_str*, const oemlink_str*,
                         size_t) -> oemlink_status { return OEMLINK_ERROR; };
  table_.timer_start = [](const oemlink_host* h, uint32_t delay_ms, oemlink_timer_fn fn,
                          void* ctx) -> uint64_t {
    FakeHost& host = self(h);
    uint64_t id = host.next_timer_id_++;
    host.timers_[id] = Timer{host.now_ms + delay_ms, fn, ctx};
    return id;
  };
  table_.timer_cancel = [](const oemlink_host* h, uint64_t id) {
    FakeHost& host = self(h);
    if (host.cancel_loses_race) return;
    auto it = host.timers_.find(id);
    if (it == host.timers_.end()) return;
    Timer t = it->second;
    host.timers_.erase(it);
    ++host.cancelled_timers;
    t.fn(t.ctx, 1);
  };
  table_.counter_add = [](const oemlink_host*, oemlink_str, uint64_t) {};
  table_.now_unix_ms = [](const oemlink_host* h) { return self(h).now_ms; };
  table_.get_service = [](const oemlink_host*, const char*) -> const void* { return nullptr; };
}

FakeHost::~FakeHost() {
  while (!timers_.empty()) {
    Timer t = timers_.begin()->second;
    timers_.erase(timers_.begin());
    t.fn(t.ctx, 1);
  }
}

int FakeHost::run_timers(int64_t advance_ms) {
  now_ms += advance_ms;
  int fired = 0;
  for (;;) {
    auto due = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.due_ms <= now_ms) {
        due = it;
        break;
      }
    }
    if (due == timers_.end()) return fired;
    Timer t = due->second;
    timers_.erase(due);
    ++fired;
    t.fn(t.ctx, 0);
  }
}

}  // namespace oemlink::test
