// Google Benchmark kernels for the host's hot paths: one poll's scheduling bookkeeping at a
// million connections, and one event built from a mock-sized batch of readings.
#include "core/pipeline/event_builder.hpp"
#include "core/pipeline/pipeline.hpp"
#include "core/schedule/poll_scheduler.hpp"
#include "tools/bench/mock_batch.hpp"

#include <oemlink/driver.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace oemlink;

void BM_SchedulerPollCycle(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  schedule::PollScheduler s;
  auto d = s.add_driver({.max_concurrent = 1u << 30, .poll_interval_ms = 3'600'000});
  int64_t now = 1'700'000'000'000;
  for (uint32_t i = 0; i < n; ++i) s.add_connection(d, now);
  std::vector<schedule::ConnIndex> due;
  uint64_t polls = 0;
  for (auto _ : state) {
    // Advance to the next due time and run everything due: take_due + complete per poll.
    now = std::max(now, s.next_wakeup(now));
    due.clear();
    s.take_due(now, due);
    for (auto c : due) s.complete(c, schedule::Outcome::ok, now);
    polls += due.size();
  }
  state.counters["polls/s"] =
      benchmark::Counter(static_cast<double>(polls), benchmark::Counter::kIsRate);
  state.counters["polls/iter"] =
      static_cast<double>(polls) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SchedulerPollCycle)->Arg(10'000)->Arg(1'000'000);

pipeline::ConnectionIdentity car() {
  return {.id = "car-1",
          .vin = "5YJ3E1EA7KF000001",
          .vehicle_token_id = 1001,
          .synthetic_token_id = 2001,
          .key_child = 1};
}

void BM_EventBuild16Readings(benchmark::State& state) {
  pipeline::EventBuilder b(pipeline::EnvelopeSettings{});
  auto batch = bench::mock_batch(1'741'089'660'000);
  for (auto _ : state) benchmark::DoNotOptimize(b.build(car(), batch));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventBuild16Readings);

struct NullSink : pipeline::EventSink {
  std::string_view name() const override { return "null"; }
  bool append(const pipeline::Event& e) override {
    benchmark::DoNotOptimize(e.json.data());
    return true;
  }
  void flush() override {}
};

void BM_PipelineSubmit16Readings(benchmark::State& state) {
  MetricsRegistry m;
  NullSink sink;
  pipeline::Pipeline p(pipeline::EventBuilder(pipeline::EnvelopeSettings{}), {&sink}, m);
  int64_t now = 1'741'089'660'000;
  auto batch = bench::mock_batch(now);
  for (auto _ : state) benchmark::DoNotOptimize(p.submit(car(), batch, now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PipelineSubmit16Readings);

}  // namespace

BENCHMARK_MAIN();
