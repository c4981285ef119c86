// DriverQuarantine over a real driver-faults.log, and the crash handler's lines (formatted
// without the signal: the handler itself is exercised end to end in driver_faults_e2e_test).
#include "core/host/driver_quarantine.hpp"

#include "core/host/driver_call_frame.hpp"
#include "core/host/driver_set.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kNow = 1'800'000'000'000;

class DriverQuarantineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oemlink-quarantine-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path log() const { return dir_ / "driver-faults.log"; }
  void append(const std::string& text) { std::ofstream(log(), std::ios::app) << text; }
  std::string slurp() const {
    std::ifstream in(log());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  QuarantineState judge(const std::string& driver, QuarantinePolicy p = {}, bool record = true) {
    return DriverQuarantine(log()).judge({driver}, p, kNow, record).at(driver);
  }
  fs::path dir_;
};

std::string crash(int64_t ms, const std::string& driver, const std::string& call = "poll") {
  return "crash " + std::to_string(ms) + " " + driver + " " + call + "\n";
}

TEST_F(DriverQuarantineTest, NoLogMeansNothingIsQuarantined) {
  QuarantineState s = judge("tesla");
  EXPECT_FALSE(s.quarantined);
  EXPECT_EQ(s.recent_crashes, 0u);
  EXPECT_FALSE(fs::exists(log()));
}

TEST_F(DriverQuarantineTest, TheThirdCrashWithinTheWindowQuarantinesAndIsRecorded) {
  append(crash(kNow - 50 * 60'000, "flaky") + crash(kNow - 10 * 60'000, "other") +
         crash(kNow - 5 * 60'000, "flaky", "open"));
  QuarantineState two = judge("flaky");
  EXPECT_FALSE(two.quarantined);
  EXPECT_EQ(two.recent_crashes, 2u);
  append(crash(kNow - 1000, "flaky", "webhook"));
  QuarantineState three = judge("flaky");
  ASSERT_TRUE(three.quarantined);
  EXPECT_EQ(three.reason, "crashed the host 3 times within 1 h (last in its webhook call)");
  EXPECT_NE(slurp().find("quarantine " + std::to_string(kNow) + " flaky crashed the host 3"),
            std::string::npos)
      << slurp();
  // Recorded: it stays quarantined after the window has passed.
  DriverQuarantine later(log());
  EXPECT_TRUE(later.judge({"flaky"}, {}, kNow + 10 * kHour).at("flaky").quarantined);
  EXPECT_FALSE(judge("other").quarantined);
}

TEST_F(DriverQuarantineTest, CrashesOlderThanTheWindowDoNotCount) {
  append(crash(kNow - 3 * kHour, "flaky") + crash(kNow - 2 * kHour, "flaky") +
         crash(kNow - 1000, "flaky"));
  EXPECT_FALSE(judge("flaky").quarantined);
  EXPECT_TRUE(judge("flaky", QuarantinePolicy{3, std::chrono::hours(4)}).quarantined);
}

TEST_F(DriverQuarantineTest, AClearEndsItAndCountsOnlyLaterCrashes) {
  append(crash(kNow - 4000, "flaky") + crash(kNow - 3000, "flaky") + crash(kNow - 2000, "flaky"));
  ASSERT_TRUE(judge("flaky").quarantined);
  // The start that judged it wrote its quarantine at kNow; the operator clears it after.
  DriverQuarantine(log()).clear("flaky", kNow + 1000);
  QuarantineState s = DriverQuarantine(log()).judge({"flaky"}, {}, kNow + 2000).at("flaky");
  EXPECT_FALSE(s.quarantined);
  EXPECT_EQ(s.recent_crashes, 0u);
  append(crash(kNow + 3000, "flaky"));
  EXPECT_EQ(DriverQuarantine(log()).judge({"flaky"}, {}, kNow + 4000).at("flaky").recent_crashes,
            1u);
}

TEST_F(DriverQuarantineTest, ReadingOnlyWritesNothingAndZeroNeverQuarantines) {
  append(crash(kNow - 3000, "flaky") + crash(kNow - 2000, "flaky") + crash(kNow - 1000, "flaky"));
  const std::string before = slurp();
  EXPECT_TRUE(judge("flaky", {}, /*record=*/false).quarantined);
  EXPECT_EQ(slurp(), before);
  EXPECT_FALSE(judge("flaky", QuarantinePolicy{0, std::chrono::hours(1)}).quarantined);
}

TEST_F(DriverQuarantineTest, ATornOrForeignLineIsIgnored) {
  append(crash(kNow - 3000, "flaky") + "garbage here\n" + "crash notanumber flaky poll\n" +
         crash(kNow - 2000, "flaky") + "crash " + std::to_string(kNow - 1000) + " fla");
  QuarantineState s = judge("flaky");
  EXPECT_EQ(s.recent_crashes, 2u);
  EXPECT_FALSE(s.quarantined);
}

// The order written decides, not the stamps: a quarantine written while the clock was a day
// ahead is still ended by the clear that follows it, and a torn line before a clear (a full
// disk) does not swallow it.
TEST_F(DriverQuarantineTest, AClearEndsWhatCameBeforeItWhateverTheClocksSaid) {
  DriverQuarantine q(log());
  q.quarantine("flaky", kNow + 24 * kHour, "crashed the host 3 times");
  append("crash " + std::to_string(kNow) + " fla");  // torn: no newline
  q.clear("flaky", kNow);
  EXPECT_FALSE(judge("flaky").quarantined) << slurp();
}

TEST_F(DriverQuarantineTest, CrashesStampedAheadOfNowAreNotCounted) {
  append(crash(kNow + 30 * 24 * kHour, "flaky") + crash(kNow + 31 * 24 * kHour, "flaky") +
         crash(kNow + 32 * 24 * kHour, "flaky"));
  QuarantineState s = judge("flaky");
  EXPECT_FALSE(s.quarantined);
  EXPECT_EQ(s.recent_crashes, 0u);
}

TEST_F(DriverQuarantineTest, AnExplicitQuarantineHoldsUntilCleared) {
  DriverQuarantine q(log());
  q.quarantine("hangs", kNow - 1000, "10 polls hung\npast poll_timeout");
  QuarantineState s = judge("hangs");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.reason, "10 polls hung past poll_timeout");
  q.clear("hangs", kNow);
  EXPECT_FALSE(DriverQuarantine(log()).judge({"hangs"}, {}, kNow + 1).at("hangs").quarantined);
}

TEST_F(DriverQuarantineTest, AnUnwritableLogIsNamed) {
  DriverQuarantine q(dir_ / "missing-dir" / "driver-faults.log");
  try {
    q.clear("x", kNow);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir/driver-faults.log"), std::string::npos);
  }
}

TEST(CrashLine, NamesDriverLibraryCallAndConnection) {
  DriverInstance d;
  d.name = "flaky";
  d.path = "/opt/drivers/libflaky.so";
  std::string conn = "car-9";
  DriverCallFrame outer(d, "poll", conn);
  ASSERT_EQ(DriverCallFrame::current(), &outer);
  char buf[512];
  size_t n = format_crash_line(buf, sizeof buf, 11, DriverCallFrame::current());
  EXPECT_EQ(std::string(buf, n),
            "oemlink: fatal SIGSEGV (11) in driver flaky (library /opt/drivers/libflaky.so), call "
            "poll, connection car-9; the next start counts it towards quarantining this driver\n");
  {
    DriverCallFrame inner(d, "http answer");
    n = format_crash_record(buf, sizeof buf, 1234, *DriverCallFrame::current());
    // One word per field: the call's space is kept (a literal of ours, read as the rest).
    EXPECT_EQ(std::string(buf, n), "\ncrash 1234 flaky http answer\n");
  }
  EXPECT_EQ(DriverCallFrame::current(), &outer);
  n = format_crash_line(buf, sizeof buf, 6, nullptr);
  EXPECT_EQ(std::string(buf, n), "oemlink: fatal SIGABRT (6) outside any driver call\n");
  // Bounded: a tiny buffer is filled, never overrun.
  char tiny[8];
  n = format_crash_line(tiny, sizeof tiny, 11, &outer);
  EXPECT_EQ(n, 7u);
}

}  // namespace
}  // namespace oemlink::host
