// SigningStage moves event building and signing (a secp256k1 signature per event, ~25 µs) off
// the host loop onto a worker thread, so on a 2-core machine the loop keeps scheduling and
// driving drivers while the other core signs.
//
// submit() validates on the caller's thread (bad readings are answered at once, as before), copies
// the valid readings, and queues them. The worker builds, signs and hands each event to the
// sinks in FIFO order (so each connection's events stay in order), then reports the outcome with
// the caller's tag. Nothing is ever dropped: when signing fails (keyd down) or the outbox is full,
// the worker retries the same job after a pause, the queue fills, and submit() answers RETRY —
// back-pressure reaches the driver, which keeps its data.
#pragma once

#include "core/pipeline/pipeline.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace oemlink::pipeline {

class SigningStage {
 public:
  // Called on the worker thread once a queued batch is settled: `receipt` is the primary sink's
  // receipt (0 when the event was rejected by the envelope rules).
  using Settled = std::function<void(uint32_t tag, uint64_t receipt)>;
  // [worker] Waits between attempts at a job that could not be delivered; the default sleeps.
  // Tests pass one that records the waits and returns at once.
  using Pause = std::function<void(std::chrono::milliseconds)>;

  SigningStage(Pipeline& pipeline, Settled settled, size_t max_queued = 4096, Pause pause = {});
  ~SigningStage();  // finishes every queued job first
  SigningStage(const SigningStage&) = delete;
  SigningStage& operator=(const SigningStage&) = delete;

  // [any-thread] status OK: queued (settled() follows); RETRY: the queue is full or the pipeline
  // does not admit new batches (Pipeline::admits: the outbox cannot commit), nothing taken;
  // ERROR: some readings were rejected (the valid ones were queued when `queued` is true).
  struct Submitted {
    oemlink_status status = OEMLINK_OK;
    bool queued = false;
  };
  // `now_ms` is true time, `future_reference_ms` what "in the future" is judged against (absent:
  // `now_ms`): Pipeline::submit.
  Submitted submit(uint32_t tag, const ConnectionIdentity& conn,
                   std::span<const oemlink_reading> readings, int64_t now_ms,
                   std::optional<int64_t> future_reference_ms = {});

  // [any-thread] The connection was closed: Pipeline::forget once the batches queued before this
  // call are built. Always queued (never refused as back-pressure); neither taken nor settled.
  void forget(std::string connection_id);

  // [any-thread] Blocks until every job queued so far is settled.
  void drain();
  // [any-thread] drain() with a deadline: false when it passed first.
  bool drain_until(std::chrono::steady_clock::time_point deadline);
  // [any-thread] Shutdown out of time: the jobs still queued are dropped unsettled (their polls
  // were never completed, so their cars are polled again on the next start) and submit() takes
  // nothing more; the job being worked on finishes. Returns how many jobs were dropped.
  size_t abandon();
  // [any-thread] Shutting down: a job that still cannot be delivered is given up after a few
  // more attempts instead of being retried for ever.
  void stop_retrying() { stop_ = true; }

  size_t queued() const;
  // [any-thread] Batches queued since construction. settled() reports them in this order, so the
  // n-th settled() is the n-th batch taken: a count read after some submits returned is a mark
  // that every one of them is settled by the time settled() has run that many times.
  uint64_t taken() const { return taken_.load(std::memory_order_acquire); }

 private:
  struct Job {
    bool forget = false;  // not a batch: Pipeline::forget(id)
    uint32_t tag = 0;
    std::string id, vin;
    uint64_t vehicle_token_id = 0, synthetic_token_id = 0;
    uint32_t key_child = 0;
    int64_t now_ms = 0;
    std::vector<oemlink_reading> readings;
    // Backing store for every name/text in `readings`. The views are pointed into it only on
    // the worker: a moved std::string may move its bytes (small-string optimisation).
    std::string text;
    std::vector<std::pair<size_t, size_t>> offsets;  // name and text offsets per reading
  };

  void work();

  Pipeline& pipeline_;
  Settled settled_;
  size_t max_queued_;
  Pause pause_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  bool abandoned_all_ = false;  // abandon() was called: submit() takes nothing
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> taken_{0};  // written under mu_, in queue order
  uint64_t abandoned_ = 0;          // worker thread only
  std::thread worker_;
};

}  // namespace oemlink::pipeline
