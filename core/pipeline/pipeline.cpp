#include "core/pipeline/pipeline.hpp"

#include "core/pipeline/envelope_rules.hpp"
#include "core/pipeline/reading_validator.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::pipeline {

Pipeline::Pipeline(EventBuilder builder, std::vector<EventSink*> sinks, MetricsRegistry& metrics)
    : builder_(std::move(builder)),
      sinks_(std::move(sinks)),
      readings_accepted_(metrics.counter("oemlink_pipeline_readings_accepted_total",
                                         "Readings that passed validation")),
      readings_rejected_(
          metrics.counter("oemlink_pipeline_readings_rejected_total",
                          "Readings refused by validation (unknown signal, bad value or time)")),
      events_built_(
          metrics.counter("oemlink_pipeline_events_built_total", "CloudEvents built and signed")),
      events_backpressured_(metrics.counter(
          "oemlink_pipeline_events_backpressured_total",
          "Events refused because the outbox was full or could not commit (the driver was told "
          "to retry)")),
      mirror_failures_(metrics.counter("oemlink_pipeline_mirror_sink_failures_total",
                                       "Events a mirror (non-durable) sink failed to take")),
      events_rejected_(metrics.counter("oemlink_pipeline_events_rejected_total",
                                       "Events refused by the durable sink or the envelope rules")),
      sign_failures_(metrics.counter("oemlink_pipeline_sign_failures_total",
                                     "Events that could not be signed")),
      reject_log_(10, metrics) {}

size_t Pipeline::validate(const ConnectionIdentity& conn, std::span<const oemlink_reading> readings,
                          int64_t future_reference_ms, std::vector<oemlink_reading>& valid) {
  size_t rejected = 0;
  for (const oemlink_reading& r : readings) {
    std::string why = validate_reading(r, future_reference_ms);
    if (why.empty()) {
      valid.push_back(r);
      continue;
    }
    rejected++;
    reject_log_.log(future_reference_ms, spdlog::level::warn, LogFields{.connection = conn.id},
                    "connection {}: reading rejected: {}", conn.id, why);
  }
  readings_rejected_.add(rejected);
  return rejected;
}

bool Pipeline::admits() {
  if (sinks_.empty() || sinks_.front()->accepting()) return true;
  events_backpressured_.add();
  return false;
}

SubmitResult Pipeline::submit(const ConnectionIdentity& conn,
                              std::span<const oemlink_reading> readings, int64_t now_ms,
                              std::optional<int64_t> future_reference_ms) {
  SubmitResult result;
  if (!admits()) {
    result.status = OEMLINK_RETRY;
    return result;
  }
  std::lock_guard lock(mu_);
  valid_.clear();
  result.rejected = validate(conn, readings, future_reference_ms.value_or(now_ms), valid_);
  if (!valid_.empty()) result = deliver_valid(conn, valid_, now_ms, result.rejected);
  if (result.rejected && result.status == OEMLINK_OK) result.status = OEMLINK_ERROR;
  return result;
}

SubmitResult Pipeline::deliver_valid(const ConnectionIdentity& conn,
                                     std::span<const oemlink_reading> valid, int64_t now_ms,
                                     size_t already_rejected) {
  SubmitResult result;
  result.rejected = already_rejected;
  Event ev;
  try {
    ev = builder_.build(conn, valid, now_ms);
  } catch (const std::exception& e) {
    // Signing failed (the key daemon is down, say): nothing was taken, the caller retries.
    sign_failures_.add();
    reject_log_.log(now_ms, spdlog::level::err, LogFields{.connection = conn.id},
                    "connection {}: event not built: {}", conn.id, e.what());
    result.status = OEMLINK_RETRY;
    return result;
  }
  if (std::string why = check_envelope(ev); !why.empty()) {
    events_rejected_.add();
    readings_rejected_.add(valid.size());
    result.rejected += valid.size();
    result.status = OEMLINK_ERROR;
    reject_log_.log(now_ms, spdlog::level::err, LogFields{.connection = conn.id, .event_id = ev.id},
                    "connection {}: event rejected before sending: {}", conn.id, why);
    return result;
  }
  // The first sink is the primary: if it cannot take the event, nothing was taken from the
  // caller's point of view and it tries again, so a full or failing sink loses nothing.
  // Further sinks are mirrors: their failures are logged and counted, never turned into a retry,
  // which would hand the primary the same readings again under a new event id.
  if (!sinks_.empty() && !sinks_.front()->append(ev)) {
    events_backpressured_.add();
    result.status = OEMLINK_RETRY;
    return result;
  }
  if (!sinks_.empty()) result.receipt = sinks_.front()->last_receipt();
  for (size_t i = 1; i < sinks_.size(); ++i) {
    if (sinks_[i]->append(ev)) continue;
    mirror_failures_.add();
    reject_log_.log(now_ms, spdlog::level::err,
                    LogFields{.connection = conn.id, .sink = sinks_[i]->name(), .event_id = ev.id},
                    "sink {}: event {} not written (mirror sink; the primary has it)",
                    sinks_[i]->name(), ev.id);
  }
  events_built_.add();
  result.accepted = valid.size();
  readings_accepted_.add(result.accepted);
  return result;
}

SubmitResult Pipeline::deliver_locked(const ConnectionIdentity& conn,
                                      std::span<const oemlink_reading> valid, int64_t now_ms) {
  std::lock_guard lock(mu_);
  return deliver_valid(conn, valid, now_ms, 0);
}

void Pipeline::forget(std::string_view connection_id) {
  std::lock_guard lock(mu_);
  builder_.forget(connection_id);
}

void Pipeline::flush() {
  std::lock_guard lock(mu_);
  for (EventSink* sink : sinks_) sink->flush();
}

}  // namespace oemlink::pipeline
