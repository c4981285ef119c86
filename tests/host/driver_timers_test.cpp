// DriverTimers: each timer fires or is cancelled exactly once, and shutdown fires every pending
// one (as cancelled) so no driver callback runs after its driver is closed.
#include "core/host/driver_timers.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace oemlink::host {
namespace {

struct Fired {
  std::vector<int> results;
};

void OEMLINK_CALL record(void* ctx, int cancelled) {
  static_cast<Fired*>(ctx)->results.push_back(cancelled);
}

TEST(DriverTimers, FiresOnceAfterItsDelay) {
  boost::asio::io_context io;
  DriverTimers timers(io);
  Fired f;
  EXPECT_NE(timers.start(5, &record, &f), 0u);
  io.run();
  EXPECT_EQ(f.results, std::vector<int>{0});
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(DriverTimers, ACancelledTimerFiresOnceAsCancelled) {
  boost::asio::io_context io;
  DriverTimers timers(io);
  Fired f;
  uint64_t id = timers.start(60'000, &record, &f);
  timers.cancel(id);
  timers.cancel(id);  // twice: still one callback
  io.run();
  EXPECT_EQ(f.results, std::vector<int>{1});
}

TEST(DriverTimers, StartFromAnotherThreadHopsOntoTheLoop) {
  boost::asio::io_context io;
  DriverTimers timers(io);
  Fired f;
  std::thread t([&] { EXPECT_NE(timers.start(1, &record, &f), 0u); });
  t.join();
  io.run();
  EXPECT_EQ(f.results, std::vector<int>{0});
}

TEST(DriverTimers, DrainFiresEveryPendingTimerAsCancelledAndRefusesNewOnes) {
  boost::asio::io_context io;
  DriverTimers timers(io);
  Fired f;
  for (int i = 0; i < 5; ++i) timers.start(3'600'000, &record, &f);
  io.poll();
  timers.drain();
  EXPECT_EQ(f.results, std::vector<int>(5, 1));
  EXPECT_EQ(timers.start(1, &record, &f), 0u);
  EXPECT_EQ(timers.start(1, nullptr, nullptr), 0u);
}

}  // namespace
}  // namespace oemlink::host
