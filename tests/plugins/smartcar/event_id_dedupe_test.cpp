#include "event_id_dedupe.hpp"

#include <gtest/gtest.h>

namespace oemlink::smartcar {
namespace {

using Claim = EventIdDedupe::Claim;

TEST(SmartcarDedupe, CommittedIdsAreDuplicatesReleasedOnesAreNot) {
  EventIdDedupe d(3);
  EXPECT_EQ(d.claim("a"), Claim::claimed);
  EXPECT_EQ(d.claim("a"), Claim::in_flight);
  d.release("a");
  EXPECT_EQ(d.claim("a"), Claim::claimed);
  d.commit("a");
  EXPECT_EQ(d.claim("a"), Claim::duplicate);
}

TEST(SmartcarDedupe, BoundedOldestForgotten) {
  EventIdDedupe d(3);
  for (std::string id : {"a", "b", "c", "d"}) {
    ASSERT_EQ(d.claim(id), Claim::claimed);
    d.commit(id);
  }
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.claim("a"), Claim::claimed);  // evicted: a retry this late is processed again
  EXPECT_EQ(d.claim("d"), Claim::duplicate);
}

}  // namespace
}  // namespace oemlink::smartcar
