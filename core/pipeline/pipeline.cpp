#include "core/pipeline/pipeline.hpp"

#include "core/pipeline/reading_validator.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::pipeline {

Pipeline::Pipeline(EventBuilder builder, std::vector<EventSink*> sinks, MetricsRegistry& metrics)
    : builder_(std::move(builder)),
      sinks_(std::move(sinks)),
      readings_accepted_(metrics.counter("pipeline_readings_accepted")),
      readings_rejected_(metrics.counter("pipeline_readings_rejected")),
      events_built_(metrics.counter("pipeline_events_built")),
      events_backpressured_(metrics.counter("pipeline_events_backpressured")) {}

SubmitResult Pipeline::submit(const ConnectionIdentity& conn,
                              std::span<const oemlink_reading> readings, int64_t now_ms) {
  SubmitResult result;
  std::lock_guard lock(mu_);
  valid_.clear();
  for (const oemlink_reading& r : readings) {
    std::string why = validate_reading(r, now_ms);
    if (why.empty()) {
      valid_.push_back(r);
      continue;
    }
    result.rejected++;
    uint64_t suppressed = 0;
    if (reject_log_.allow(now_ms, suppressed)) {
      spdlog::warn("connection {}: reading rejected: {}{}", conn.id, why,
                   suppressed ? fmt::format(" ({} similar lines suppressed)", suppressed) : "");
    }
  }
  readings_rejected_.add(result.rejected);
  if (!valid_.empty()) {
    Event ev = builder_.build(conn, valid_);
    for (EventSink* sink : sinks_) {
      if (!sink->append(ev)) {
        // Nothing was taken from the driver's point of view: it keeps the readings and emits
        // them again, so a full or failing sink loses nothing.
        events_backpressured_.add();
        result.status = OEMLINK_RETRY;
        result.accepted = 0;
        return result;
      }
    }
    events_built_.add();
    result.accepted = valid_.size();
    readings_accepted_.add(result.accepted);
  }
  if (result.rejected) result.status = OEMLINK_ERROR;
  return result;
}

void Pipeline::flush() {
  std::lock_guard lock(mu_);
  for (EventSink* sink : sinks_) sink->flush();
}

}  // namespace oemlink::pipeline
