// The one path every reading takes: validate -> build event (serialize once, sign) -> sinks.
// Drivers reach it through the host's emit(); streams, polls and webhooks all arrive here.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/pipeline/event_builder.hpp"
#include "core/pipeline/event_sink.hpp"

#include <oemlink/driver.h>

#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace oemlink::pipeline {

struct SubmitResult {
  oemlink_status status =
      OEMLINK_OK;  // OK, RETRY (back-pressure: nothing taken), ERROR (some rejected)
  size_t accepted = 0;
  size_t rejected = 0;
  uint64_t receipt = 0;  // the primary sink's receipt for the event (outbox sequence), 0: none
};

class Pipeline {
 public:
  // Sinks are borrowed and must outlive the pipeline.
  Pipeline(EventBuilder builder, std::vector<EventSink*> sinks, MetricsRegistry& metrics);

  // [any-thread] Validates and delivers one batch of readings from one connection. `now_ms` is
  // true time (it bounds how far ahead event times are held, EventBuilder::build);
  // `future_reference_ms` is what "in the future" is judged against (future_reference_ms();
  // absent: `now_ms`).
  SubmitResult submit(const ConnectionIdentity& conn, std::span<const oemlink_reading> readings,
                      int64_t now_ms, std::optional<int64_t> future_reference_ms = {});

  // [any-thread] Flushes every sink.
  void flush();

  // [any-thread] Whether a new batch may be taken now: false (counted as back-pressure) while the
  // primary sink is not accepting (the outbox cannot commit). submit() and the SigningStage then
  // answer RETRY before taking anything.
  bool admits();

  // The two halves of submit(), for the asynchronous SigningStage.
  // [any-thread] Checks each reading against `future_reference_ms`, appends the valid ones to
  // `valid`, logs and counts the rest; returns how many were rejected.
  size_t validate(const ConnectionIdentity& conn, std::span<const oemlink_reading> readings,
                  int64_t future_reference_ms, std::vector<oemlink_reading>& valid);
  // [any-thread] Builds (at true time `now_ms`), signs and hands to the sinks an already
  // validated batch.
  SubmitResult deliver_locked(const ConnectionIdentity& conn,
                              std::span<const oemlink_reading> valid, int64_t now_ms);
  // [any-thread] A connection was closed: what the builder keeps of it goes. Call it after the
  // connection's last batch (the SigningStage queues it behind them).
  void forget(std::string_view connection_id);

 private:
  SubmitResult deliver_valid(const ConnectionIdentity& conn, std::span<const oemlink_reading> valid,
                             int64_t now_ms, size_t already_rejected);

  std::mutex mu_;
  EventBuilder builder_;
  std::vector<EventSink*> sinks_;
  std::vector<oemlink_reading> valid_;  // reused under mu_
  Counter& readings_accepted_;
  Counter& readings_rejected_;
  Counter& events_built_;
  Counter& events_backpressured_;
  Counter& mirror_failures_;
  Counter& events_rejected_;
  Counter& sign_failures_;
  LogGate reject_log_;
};

}  // namespace oemlink::pipeline
