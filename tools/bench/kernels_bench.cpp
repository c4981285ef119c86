// Google Benchmark kernels for the host's hot paths: one poll's scheduling bookkeeping at a
// million connections, one event built from a mock-sized batch of readings, and the least a
// verified webhook costs (HMAC of the raw body + JSON parse: the webhook benchmark's baseline).
#include "core/pipeline/event_builder.hpp"
#include "core/pipeline/pipeline.hpp"
#include "core/schedule/poll_scheduler.hpp"
#include "tools/bench/mock_batch.hpp"

#include <oemlink/driver.hpp>

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <fstream>
#include <sstream>

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
  for (auto _ : state) benchmark::DoNotOptimize(b.build(car(), batch, 1'741'089'660'000));
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

// What every Smartcar delivery costs before any of oemlink's own work: SC-Signature checked as
// the driver checks it (hex HMAC-SHA256 of the raw body under the AMT, constant-time compare),
// then the body parsed into a JSON document, into a 16 KiB stack arena as the driver does
// (arena:1, the baseline) or with the default allocator (arena:0). The payload is the
// real-shaped 4.0 VEHICLE_STATE example the webhook benchmark sends
// (tools/bench/webhook_load_bench.sh), with a signature header.
void BM_WebhookHmacAndParse(benchmark::State& state) {
  std::ifstream in(OEMLINK_SOURCE_DIR
                   "/tools/mock-oem/smartcar/examples/webhook_vehicle_state_4.0.json",
                   std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str(), key(64, 'k');
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string header;
  for (unsigned char b : mac) header += {kHex[b >> 4], kHex[b & 15]};
  boost::json::parse_options opts;
  opts.max_depth = 64;
  for (auto _ : state) {
    unsigned char given[32], expected[32];
    for (size_t i = 0; i < 32; ++i) {
      auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      given[i] = static_cast<unsigned char>(nibble(header[2 * i]) << 4 | nibble(header[2 * i + 1]));
    }
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), expected, &len);
    if (CRYPTO_memcmp(given, expected, 32) != 0) state.SkipWithError("signature mismatch");
    boost::system::error_code ec;
    unsigned char arena[16384];
    boost::json::monotonic_resource mr(arena, sizeof arena);
    boost::json::value doc = state.range(0) ? boost::json::parse(body, ec, &mr, opts)
                                            : boost::json::parse(body, ec, {}, opts);
    if (ec || !doc.is_object()) state.SkipWithError("payload is not JSON");
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_WebhookHmacAndParse)->ArgName("arena")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
