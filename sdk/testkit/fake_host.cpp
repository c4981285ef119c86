#include <oemlink/testkit/fake_host.hpp>

#include <strings.h>

#include <cstring>
#include <utility>

namespace oemlink::testkit {
namespace {

std::string copy(oemlink_str s) {
  return s.data ? std::string(s.data, s.size) : std::string();
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

HttpReply HttpReply::with_status(int http_status, std::string body, Headers headers) {
  HttpReply r;
  r.http_status = http_status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

HttpReply HttpReply::transport_failure(std::string error) {
  HttpReply r;
  r.status = OEMLINK_RETRY;
  r.http_status = 0;
  r.error = std::move(error);
  return r;
}

FakeHost& FakeHost::self(const oemlink_host* h) {
  return *static_cast<FakeHost*>(h->host_data);
}

void FakeHost::answer(const WaitingRequest& request, const HttpReply& reply) {
  std::vector<oemlink_http_header> headers;
  for (const auto& [k, v] : reply.headers) {
    headers.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  }
  oemlink_http_response r{};
  r.struct_size = sizeof r;
  r.status = reply.status;
  r.http_status = reply.http_status;
  r.headers = headers.data();
  r.header_count = headers.size();
  r.body = {reply.body.data(), reply.body.size()};
  r.error = {reply.error.data(), reply.error.size()};
  request.done(request.ctx, &r);
}

FakeHost::FakeHost() {
  table_.struct_size = sizeof table_;
  table_.abi_major = OEMLINK_ABI_MAJOR;
  table_.abi_minor = OEMLINK_ABI_MINOR;
  table_.host_data = this;
  table_.log = [](const oemlink_host* h, oemlink_conn* conn, oemlink_log_level level,
                  oemlink_str msg) {
    self(h).logs.push_back({conn, level, copy(msg)});
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
  table_.http_request = [](const oemlink_host* h, oemlink_conn* conn,
                           const oemlink_http_request* request, oemlink_http_done_fn done,
                           void* ctx) -> oemlink_status {
    FakeHost& host = self(h);
    RecordedRequest& r = host.requests.emplace_back();
    r.conn = conn;
    r.method = copy(request->method);
    r.url = copy(request->url);
    for (size_t i = 0; i < request->header_count; ++i) {
      r.headers.emplace_back(copy(request->headers[i].name), copy(request->headers[i].value));
    }
    r.body = copy(request->body);
    r.timeout_ms = request->timeout_ms;
    if (host.http_accept != OEMLINK_OK) return host.http_accept;
    host.waiting_.push_back({done, ctx});
    if (host.answer_http_inline) host.deliver_http();
    return OEMLINK_OK;
  };
  table_.secret_get = [](const oemlink_host* h, oemlink_conn* conn, oemlink_str key, char* buf,
                         size_t cap, size_t* size) -> oemlink_status {
    FakeHost& host = self(h);
    ++host.secret_get_calls;
    *size = 0;
    if (host.fail_next_secret_gets > 0) {
      --host.fail_next_secret_gets;
      return OEMLINK_ERROR;
    }
    auto it = host.secrets.find({conn, copy(key)});
    if (it == host.secrets.end()) return OEMLINK_ERROR;
    *size = it->second.size();
    if (it->second.size() > cap) return OEMLINK_RETRY;
    if (!it->second.empty()) std::memcpy(buf, it->second.data(), it->second.size());
    return OEMLINK_OK;
  };
  table_.secret_put = [](const oemlink_host* h, oemlink_conn* conn, const oemlink_str* keys,
                         const oemlink_str* values, size_t count) -> oemlink_status {
    FakeHost& host = self(h);
    ++host.secret_put_calls;
    if (host.fail_next_secret_puts > 0) {
      --host.fail_next_secret_puts;
      return OEMLINK_ERROR;
    }
    for (size_t i = 0; i < count; ++i) host.secrets[{conn, copy(keys[i])}] = copy(values[i]);
    return OEMLINK_OK;
  };
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
  table_.counter_add = [](const oemlink_host* h, oemlink_str name, uint64_t delta) {
    self(h).counters[copy(name)] += delta;
  };
  table_.now_unix_ms = [](const oemlink_host* h) { return self(h).now_ms; };
  table_.get_service = [](const oemlink_host* h, const char* id) -> const void* {
    FakeHost& host = self(h);
    auto it = host.services.find(id ? id : "");
    return it == host.services.end() ? nullptr : it->second;
  };
}

FakeHost::~FakeHost() {
  while (!waiting_.empty()) {
    WaitingRequest w = waiting_.front();
    waiting_.pop_front();
    answer(w, HttpReply::transport_failure("fake host shut down"));
  }
  while (!timers_.empty()) {
    Timer t = timers_.begin()->second;
    timers_.erase(timers_.begin());
    t.fn(t.ctx, 1);
  }
}

int FakeHost::deliver_http() {
  int answered = 0;
  // Popped before the callback runs: a callback may start the next request.
  while (!waiting_.empty() && !scripted_.empty()) {
    WaitingRequest w = waiting_.front();
    waiting_.pop_front();
    HttpReply reply = std::move(scripted_.front());
    scripted_.pop_front();
    ++answered;
    answer(w, reply);
  }
  return answered;
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

}  // namespace oemlink::testkit
