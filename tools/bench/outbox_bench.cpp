// Outbox append throughput with durability on (WAL, synchronous=FULL): group commit against one
// transaction per append (max_batch = 1), from 1 and 2 producer threads, ~1.5 KB events.
//
//   oemlink-bench-outbox [DIR] [EVENTS] [BASELINE_EVENTS]
//
// DIR must be on the disk under test (default: a fresh directory under the current one).
// Two modes per configuration:
//   stream  producers append as fast as they can; the rate counts until everything is durable.
//   wait    each append waits until it is durable before the next (a poll that completes only
//           once its events are stored): latency-bound, where the commit window shows.
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/store/outbox_store.hpp"

namespace {

namespace fs = std::filesystem;
using oemlink::DataKey;
using oemlink::store::OutboxOptions;
using oemlink::store::OutboxStore;
using Clock = std::chrono::steady_clock;

std::string make_event(size_t i) {
  std::string json = R"({"specversion":"1.0","id":"2fF9kq)" + std::to_string(i) +
                     R"(","source":"0x5e4b0C2fB2e2D3a1","type":"dimo.status","data":{"signals":[)";
  while (json.size() < 1450) {
    json += R"({"name":"speed","timestamp":"2024-05-01T12:00:00Z","value":42.5},)";
  }
  json += R"({"name":"end","value":0}]}})";
  return json;
}

struct Durable {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t seq = 0;
  void report(uint64_t s) {
    {
      std::lock_guard lock(mu);
      seq = s;
    }
    cv.notify_all();
  }
  void wait_for(uint64_t s) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return seq >= s; });
  }
};

struct Result {
  double rate;
  double per_commit;
};

Result run(const fs::path& dir, size_t max_batch, std::chrono::milliseconds delay, int producers,
           size_t events, bool wait) {
  static int n = 0;
  const fs::path path = dir / ("outbox-" + std::to_string(n++) + ".db");
  OutboxOptions o;
  o.path = path;
  o.max_batch = max_batch;
  o.max_commit_delay = delay;
  o.sinks = {"dimo"};
  Durable durable;
  DataKey key{};
  key.fill(7);
  const std::string event = make_event(0);
  double rate;
  uint64_t commits;
  {
    OutboxStore box(o, key, [&](uint64_t s) { durable.report(s); });
    const size_t per_producer = events / producers;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (size_t i = 0; i < per_producer; ++i) {
          const std::string id = std::to_string(p) + "-" + std::to_string(i);
          auto seq = box.append(id, "conn-" + std::to_string(p), event);
          if (!seq) std::abort();  // the default bound is far away
          if (wait) durable.wait_for(*seq);
        }
      });
    }
    for (auto& t : threads) t.join();
    box.flush();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    rate = static_cast<double>(per_producer * producers) / secs;
    commits = box.stats().commits;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  return {rate, static_cast<double>(events) / static_cast<double>(commits ? commits : 1)};
}

}  // namespace

int main(int argc, char** argv) {
  using std::chrono::milliseconds;
  spdlog::set_level(spdlog::level::warn);
  fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::current_path() / "outbox-bench-XXXXXX";
  if (argc <= 1) {
    std::string tmpl = dir.string();
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }
  const size_t events = argc > 2 ? std::stoul(argv[2]) : 40'000;
  const size_t baseline_events = argc > 3 ? std::stoul(argv[3]) : 1'500;
  std::printf("outbox append, %zu-byte events, synchronous=FULL, dir %s\n", make_event(0).size(),
              dir.c_str());
  std::printf(
      "group: max_batch 4096 with max_commit_delay 5 ms (default) or 0 ms; baseline: "
      "max_batch 1\n");
  std::printf("%-6s %-9s %12s %12s %12s %9s %9s\n", "mode", "producers", "group5ms/s", "group0ms/s",
              "batch=1/s", "ratio5ms", "ratio0ms");
  for (bool wait : {false, true}) {
    for (int producers : {1, 2}) {
      // Waiting producers keep at most one event each in flight, so fewer events suffice.
      const size_t n = wait ? baseline_events : events;
      const Result g5 = run(dir, 4096, milliseconds(5), producers, n, wait);
      const Result g0 = run(dir, 4096, milliseconds(0), producers, n, wait);
      const Result one = run(dir, 1, milliseconds(0), producers, baseline_events, wait);
      std::printf("%-6s %-9d %12.0f %12.0f %12.0f %8.1fx %8.1fx   (recs/commit %.1f, %.1f)\n",
                  wait ? "wait" : "stream", producers, g5.rate, g0.rate, one.rate,
                  g5.rate / one.rate, g0.rate / one.rate, g5.per_commit, g0.per_commit);
    }
  }
  if (argc <= 1) fs::remove_all(dir);
  return 0;
}
