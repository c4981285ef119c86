#include "core/host/poll_tickets.hpp"

#include <gtest/gtest.h>

namespace oemlink::host {
namespace {

TEST(TicketPool, AReleasedTicketNoLongerAnswersToItsOldReference) {
  TicketPool pool;
  Ticket* t = pool.acquire();
  void* ctx = encode_ticket(7, *t);
  ASSERT_NE(ctx, nullptr);
  TicketRef ref = decode_ticket(ctx);
  EXPECT_EQ(ref.dispatcher_slot, 7);
  EXPECT_EQ(pool.find(ref), t);
  pool.release(t);
  EXPECT_EQ(pool.find(ref), nullptr);
  // The same slot is handed out again at once (LIFO): the old reference must still miss.
  Ticket* again = pool.acquire();
  EXPECT_EQ(again, t);
  EXPECT_EQ(pool.find(ref), nullptr);
  EXPECT_EQ(pool.find(decode_ticket(encode_ticket(7, *again))), again);
}

TEST(TicketPool, GrowsWithoutMovingLiveTickets) {
  TicketPool pool;
  std::vector<Ticket*> live;
  for (int i = 0; i < 5000; ++i) live.push_back(pool.acquire());
  EXPECT_EQ(pool.live(), 5000u);
  for (Ticket* t : live) EXPECT_EQ(pool.find(decode_ticket(encode_ticket(1, *t))), t);
  size_t seen = 0;
  pool.for_each_live([&](Ticket*) { ++seen; });
  EXPECT_EQ(seen, 5000u);
  for (Ticket* t : live) pool.release(t);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(DispatcherRegistry, SlotsAreNonZeroAndClearedOnUnregister) {
  auto* fake = reinterpret_cast<PollDispatcher*>(0x1000);
  uint8_t slot = register_dispatcher(fake);
  EXPECT_NE(slot, 0);
  EXPECT_EQ(dispatcher_at(slot), fake);
  unregister_dispatcher(slot);
  EXPECT_EQ(dispatcher_at(slot), nullptr);
  EXPECT_EQ(dispatcher_at(0), nullptr);
}

}  // namespace
}  // namespace oemlink::host
