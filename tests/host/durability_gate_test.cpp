// DurabilityGate as a plain class: which completions pass at once, which wait, and what
// releases them. No loop, no clock.
#include "core/host/durability_gate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace oemlink::host {
namespace {

struct Released {
  uint32_t conn;
  oemlink_status status;
  std::string message;
};

class DurabilityGateTest : public ::testing::Test {
 protected:
  std::vector<Released> released;
  DurabilityGate make(bool with_outbox, uint64_t durable_seq = 0) {
    return DurabilityGate(8, with_outbox, durable_seq,
                          [this](uint32_t c, oemlink_status s, const std::string& m) {
                            released.push_back({c, s, m});
                          });
  }
};

TEST_F(DurabilityGateTest, NothingPendingPassesAtOnce) {
  auto gate = make(true);
  gate.complete(3, OEMLINK_RETRY, "asleep");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].conn, 3u);
  EXPECT_EQ(released[0].status, OEMLINK_RETRY);
  EXPECT_EQ(released[0].message, "asleep");
  EXPECT_EQ(gate.held(), 0u);
}

TEST_F(DurabilityGateTest, WaitsForSigningThenForTheOutboxCommit) {
  auto gate = make(true, 10);
  gate.batch_submitted(1);
  gate.complete(1, OEMLINK_OK, "");
  EXPECT_TRUE(released.empty()) << "a batch is still being signed";
  gate.batch_settled(1, 42);  // stored as outbox record 42, not yet committed
  EXPECT_TRUE(released.empty()) << "record 42 is not durable yet";
  gate.durable_through(41);
  EXPECT_TRUE(released.empty());
  gate.durable_through(42);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].conn, 1u);
  EXPECT_EQ(gate.held(), 0u);
}

TEST_F(DurabilityGateTest, ARejectedBatchHoldsNothingBack) {
  auto gate = make(true);
  gate.batch_submitted(2);
  gate.complete(2, OEMLINK_OK, "");
  gate.batch_settled(2, 0);  // every reading rejected: nothing to make durable
  ASSERT_EQ(released.size(), 1u);
}

TEST_F(DurabilityGateTest, ARefusedSubmissionIsNotWaitedFor) {
  auto gate = make(true);
  gate.batch_submitted(4);
  gate.batch_refused(4);  // the signing queue was full: the driver keeps its readings
  gate.complete(4, OEMLINK_RETRY, "");
  ASSERT_EQ(released.size(), 1u);
}

TEST_F(DurabilityGateTest, EachConnectionWaitsForItsOwnReceipt) {
  auto gate = make(true);
  for (uint32_t c : {0u, 1u, 2u}) {
    gate.batch_submitted(c);
    gate.complete(c, OEMLINK_OK, "");
    gate.batch_settled(c, 100 + c);
  }
  EXPECT_EQ(gate.held(), 3u);
  gate.durable_through(101);
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0].conn, 0u);
  EXPECT_EQ(released[1].conn, 1u);
  gate.durable_through(102);
  ASSERT_EQ(released.size(), 3u);
  EXPECT_EQ(released[2].conn, 2u);
}

TEST_F(DurabilityGateTest, ALaterBatchRaisesTheReceiptWaitedFor) {
  auto gate = make(true);
  gate.batch_submitted(5);
  gate.batch_submitted(5);
  gate.complete(5, OEMLINK_OK, "");
  gate.batch_settled(5, 7);
  gate.durable_through(7);
  EXPECT_TRUE(released.empty()) << "the second batch is still being signed";
  gate.batch_settled(5, 9);
  gate.durable_through(8);
  EXPECT_TRUE(released.empty());
  gate.durable_through(9);
  EXPECT_EQ(released.size(), 1u);
}

TEST_F(DurabilityGateTest, WithoutAnOutboxOnlySigningIsWaitedFor) {
  auto gate = make(false);
  gate.batch_submitted(6);
  gate.complete(6, OEMLINK_OK, "");
  EXPECT_TRUE(released.empty());
  gate.batch_settled(6, 0);
  EXPECT_EQ(released.size(), 1u);
}

TEST_F(DurabilityGateTest, ReceiptsAlreadyDurableAtOpenDoNotWait) {
  auto gate = make(true, 500);
  gate.batch_submitted(0);
  gate.complete(0, OEMLINK_OK, "");
  gate.batch_settled(0, 499);
  EXPECT_EQ(released.size(), 1u);
}

TEST_F(DurabilityGateTest, ReleaseReadyLetsGoOnlyWhatMayGo) {
  auto gate = make(true);
  gate.batch_submitted(0);
  gate.complete(0, OEMLINK_OK, "");
  gate.batch_submitted(1);
  gate.complete(1, OEMLINK_OK, "");
  gate.batch_settled(1, 3);
  gate.release_ready();
  EXPECT_TRUE(released.empty());
  gate.durable_through(3);
  gate.batch_settled(0, 0);
  EXPECT_EQ(released.size(), 2u);
  EXPECT_EQ(gate.held(), 0u);
}

// Webhook marks: the first `mark` batches the signing stage took, settled in that order.
TEST_F(DurabilityGateTest, AMarkWaitsForItsBatchesToSettleThenForTheirHighestReceipt) {
  auto gate = make(true);
  std::vector<int> ready;
  for (int c : {0, 1, 2}) gate.batch_submitted(c);
  gate.when_durable(2, [&] { ready.push_back(2); });  // covers the first two batches
  gate.when_durable(0, [&] { ready.push_back(0); });  // nothing taken: at once
  EXPECT_EQ(ready, std::vector<int>{0});
  gate.batch_settled(0, 10);
  gate.durable_through(10);
  EXPECT_EQ(ready, std::vector<int>{0}) << "batch 2 not settled yet";
  gate.batch_settled(1, 11);
  EXPECT_EQ(ready, std::vector<int>{0}) << "receipt 11 not durable yet";
  gate.batch_settled(2, 12);  // a later batch: its receipt is not waited for
  gate.durable_through(11);
  EXPECT_EQ(ready, (std::vector<int>{0, 2}));
  // Marked after settling: waits for the highest receipt seen so far (12).
  gate.when_durable(3, [&] { ready.push_back(3); });
  EXPECT_EQ(ready.size(), 2u);
  gate.durable_through(12);
  EXPECT_EQ(ready, (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(gate.waiting_marks(), 0u);
}

TEST_F(DurabilityGateTest, AMarkWithoutAnOutboxWaitsOnlyForSigning) {
  auto gate = make(false);
  bool ready = false;
  gate.batch_submitted(0);
  gate.when_durable(1, [&] { ready = true; });
  EXPECT_FALSE(ready);
  gate.batch_settled(0, 0);
  EXPECT_TRUE(ready);
}

TEST_F(DurabilityGateTest, ARejectedBatchCountsAsSettled) {
  auto gate = make(true);
  bool ready = false;
  gate.batch_submitted(4);
  gate.when_durable(1, [&] { ready = true; });
  gate.batch_settled(4, 0);  // refused by the envelope rules: nothing to make durable
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace oemlink::host
