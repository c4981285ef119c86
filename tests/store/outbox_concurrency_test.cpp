// Producers on several threads while a dispatcher reads and acknowledges in batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/store/outbox_store.hpp"
#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::key_of;
using testing::TempDir;
using namespace std::chrono_literals;

TEST(OutboxConcurrency, FourProducersAndADispatcherDeliverEverythingOnce) {
  TempDir dir;
  OutboxOptions o;
  o.path = dir.path() / "outbox.db";
  o.sinks = {"dimo"};
  o.max_commit_delay = 2ms;
  o.max_records = 300;  // small bound: producers meet `block` and retry
  std::atomic<uint64_t> durable{0};
  OutboxStore box(o, key_of(1), [&](uint64_t s) {
    EXPECT_GT(s, durable.load());
    durable = s;
  });

  constexpr int kProducers = 4;
  constexpr int kPerProducer = 400;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        const std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
        const std::string json = R"({"id":")" + id + R"(","pad":")" + std::string(200, 'x') + "\"}";
        while (!box.append(id, "conn-" + std::to_string(p), json)) std::this_thread::sleep_for(1ms);
      }
    });
  }

  std::map<std::string, int> delivered;
  std::map<std::string, uint64_t> last_seq_per_conn;
  uint64_t after = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (delivered.size() < kProducers * kPerProducer &&
         std::chrono::steady_clock::now() < deadline) {
    auto batch = box.read("dimo", after, 64);
    if (batch.empty()) {
      std::this_thread::sleep_for(1ms);
      continue;
    }
    // The callback runs just after the commit, so compare with the store's own durable_seq.
    const uint64_t durable_seq = box.stats().durable_seq;
    std::vector<uint64_t> acks;
    for (const auto& r : batch) {
      EXPECT_LE(r.seq, durable_seq) << "read returned a record that is not durable";
      ++delivered[r.event_id];
      // Per-connection order follows append order.
      EXPECT_GT(r.seq, last_seq_per_conn[r.connection_id]);
      last_seq_per_conn[r.connection_id] = r.seq;
      EXPECT_NE(r.json.find(r.event_id), std::string::npos);
      acks.push_back(r.seq);
    }
    after = batch.back().seq;
    // Out of order, as a dispatcher with parallel requests would.
    std::reverse(acks.begin(), acks.end());
    box.ack("dimo", acks);
    (void)box.stats();
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(delivered.size(), size_t{kProducers * kPerProducer});
  for (const auto& [id, n] : delivered) EXPECT_EQ(n, 1) << id;
  box.flush();
  const OutboxStats st = box.stats();
  EXPECT_EQ(st.depth, 0u);
  EXPECT_EQ(st.bytes, 0u);
  EXPECT_EQ(st.appended, uint64_t{kProducers * kPerProducer});
  EXPECT_EQ(box.cursor("dimo"), st.durable_seq);
}

}  // namespace
}  // namespace oemlink::store
