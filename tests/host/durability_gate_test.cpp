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

}  // namespace
}  // namespace oemlink::host
