#include "core/ops/readiness_check.hpp"

#include "core/common/json_string.hpp"
#include "core/net/clock_skew_estimator.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstdlib>

namespace oemlink::ops {

std::string human_duration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 10'000 && ms / 100 % 10 != 0) return fmt::format("{}.{}s", ms / 1000, ms / 100 % 10);
  const int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return s % 60 ? fmt::format("{}m{}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
  const int64_t m = s / 60;
  return m % 60 ? fmt::format("{}h{}m", m / 60, m % 60) : fmt::format("{}h", m / 60);
}

Readiness ReadinessCheck::evaluate(const host::RuntimeHealth& h) const {
  Readiness r;
  auto fail = [&r](std::string check, std::string sink, std::string reason) {
    r.failing.push_back({std::move(check), std::move(sink), std::move(reason)});
  };
  if (h.stopping)
    fail("shutdown", "", "shutting down");
  else if (!h.config_loaded)
    fail("config", "", "starting: the configuration is not running yet");
  if (!h.vault_open) fail("vault", "", "the key vault is not open");
  if (h.outbox_present && h.outbox_failing)
    fail("outbox", "",
         fmt::format("commits failing ({} attempts): {}", h.outbox_consecutive_failures,
                     h.outbox_error));
  for (const host::SinkHealth& s : h.sinks) {
    if (s.pending == 0) continue;  // nothing to deliver: as fresh as it can be
    const bool ever = s.last_delivered_steady_ms != 0;
    // A sink that never delivered counts from its own start: one a reload added or changed has
    // not been stale since the daemon started.
    const int64_t since = ever ? s.last_delivered_steady_ms
                          : s.started_steady_ms > 0
                              ? std::max(s.started_steady_ms, h.started_steady_ms)
                              : h.started_steady_ms;
    const auto age = std::chrono::milliseconds(std::max<int64_t>(0, h.now_steady_ms - since));
    if (age <= s.staleness) continue;
    fail("sink", s.name,
         fmt::format("{} event{} waiting, {} {} ago (staleness {})", s.pending,
                     s.pending == 1 ? "" : "s", ever ? "last delivery" : "no delivery since start",
                     human_duration(age), human_duration(s.staleness)));
  }
  if (h.clock_skew_ms && std::llabs(*h.clock_skew_ms) > net::kClockSkewNotReadyMs)
    fail("clock", "",
         fmt::format("local clock {} true time by {} (from HTTPS Date headers; over {}): fix NTP",
                     *h.clock_skew_ms > 0 ? "ahead of" : "behind",
                     human_duration(std::chrono::milliseconds(std::llabs(*h.clock_skew_ms))),
                     human_duration(std::chrono::milliseconds(net::kClockSkewNotReadyMs))));
  r.ready = r.failing.empty();
  return r;
}

std::string Readiness::to_json() const {
  if (ready) return R"({"ready":true})";
  std::string out = R"({"ready":false,"failing":[)";
  for (size_t i = 0; i < failing.size(); ++i) {
    const ReadinessFailure& f = failing[i];
    out += i ? ",{" : "{";
    out += R"("check":)";
    append_json_string(out, f.check);
    if (!f.sink.empty()) {
      out += R"(,"sink":)";
      append_json_string(out, f.sink);
    }
    out += R"(,"reason":)";
    append_json_string(out, f.reason);
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace oemlink::ops
