// ClockSkewEstimator: learns our wall clock's skew from Date headers, anchored to the steady
// clock so a wall-clock step is corrected at once; robust to one-second resolution, jitter and a
// minority of peers with wrong clocks.
#include "core/net/clock_skew_estimator.hpp"

#include "core/net/http_date.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace oemlink::net {
namespace {

constexpr int64_t kTrueS = 1'796'181'600;  // 2026-12-02T03:20:00Z
constexpr int64_t kHour = 3'600'000;

// Peer answers at true second kTrueS + i, received at steady 10'000 + i*1000 + `delay` ms.
void feed(ClockSkewEstimator& e, int first, int n, int64_t delay_ms = 120, int64_t peer_off_s = 0) {
  for (int i = first; i < first + n; ++i)
    e.observe(kTrueS + i + peer_off_s, 10'000 + int64_t{i} * 1000 + delay_ms);
}

// True Unix ms at steady `s` in the fixture above.
int64_t true_at(int64_t steady) {
  return kTrueS * 1000 + (steady - 10'000);
}

TEST(ClockSkewEstimator, KnowsNothingBeforeThreeAgreeingAnswers) {
  ClockSkewEstimator e;
  EXPECT_FALSE(e.skew_ms(0, 0));
  feed(e, 0, 2);
  const int64_t steady = 12'500, wall = true_at(steady) - 2 * kHour;
  EXPECT_FALSE(e.skew_ms(wall, steady));
  EXPECT_EQ(e.corrected_ms(wall, steady), wall) << "no estimate: the wall clock is all we have";
  feed(e, 2, 1);
  ASSERT_TRUE(e.skew_ms(wall, steady));
}

TEST(ClockSkewEstimator, MeasuresAClockTwoHoursBehind) {
  ClockSkewEstimator e;
  feed(e, 0, 5);
  const int64_t steady = 20'000, wall = true_at(steady) - 2 * kHour;
  const auto skew = e.skew_ms(wall, steady);
  ASSERT_TRUE(skew);
  // Date names whole seconds: within a second of the truth.
  EXPECT_NEAR(static_cast<double>(*skew), -2.0 * kHour, 1000);
  EXPECT_NEAR(static_cast<double>(e.corrected_ms(wall, steady)),
              static_cast<double>(true_at(steady)), 1000);
}

TEST(ClockSkewEstimator, AStepAfterTheAnswersIsCorrectedAtOnce) {
  // The answers came while the wall clock was right; then NTP (or a person) steps it. The
  // steady clock did not move, so the samples still say what true time is.
  ClockSkewEstimator e;
  feed(e, 0, 5);
  const int64_t steady = 30'000;
  for (int64_t step : {-kHour, +kHour, int64_t{0}}) {
    const int64_t wall = true_at(steady) + step;
    EXPECT_NEAR(static_cast<double>(e.corrected_ms(wall, steady)),
                static_cast<double>(true_at(steady)), 1000)
        << "step " << step / 1000 << " s";
    EXPECT_NEAR(static_cast<double>(e.skew_ms(wall, steady).value()), static_cast<double>(step),
                1000);
  }
}

TEST(ClockSkewEstimator, SkewUnderTwoSecondsIsJitterAndCorrectsNothing) {
  ClockSkewEstimator e;
  feed(e, 0, 5);
  const int64_t steady = 30'000;
  for (int64_t off : {-1500, -400, 0, 900, 1500}) {
    const int64_t wall = true_at(steady) + off;
    EXPECT_EQ(e.skew_ms(wall, steady), 0) << off;
    EXPECT_EQ(e.corrected_ms(wall, steady), wall) << off;
  }
  EXPECT_NE(e.skew_ms(true_at(steady) + 3000, steady), 0);
}

TEST(ClockSkewEstimator, AMinorityOfPeersWithWrongClocksCannotMoveIt) {
  ClockSkewEstimator e;
  feed(e, 0, 5);                             // five honest answers
  feed(e, 5, 4, 120, /*peer_off_s=*/-3600);  // four from a server an hour behind
  const int64_t steady = 20'000, wall = true_at(steady);
  EXPECT_EQ(e.skew_ms(wall, steady), 0);
}

// One automaker API with a wrong clock (or a hostile one) may be the busiest peer and fill the
// window alone; the ingest's answers, which decide what is pruned, outrank it.
TEST(ClockSkewEstimator, TheIngestsAnswersOutrankABusyPeerWithAWrongClock) {
  ClockSkewEstimator e;
  for (int i = 0; i < 20; ++i)
    e.observe(kTrueS + 86'400 + i, 10'000 + int64_t{i} * 1000);  // a day ahead, 20 answers
  const int64_t steady = 40'000, wall = true_at(steady);
  // Alone, the peer is all there is (Date's second read at its middle: half a second more).
  EXPECT_NEAR(static_cast<double>(*e.skew_ms(wall, steady)), -86'400'000.0, 1000.0);
  for (int i = 0; i < 3; ++i)
    e.observe(kTrueS + 20 + i, 30'000 + int64_t{i} * 1000, /*authoritative=*/true);
  EXPECT_EQ(e.skew_ms(wall, steady), 0);
  for (int i = 0; i < 20; ++i)  // the busy peer goes on: it moves nothing
    e.observe(kTrueS + 86'400 + 23 + i, 33'000 + int64_t{i} * 1000);
  EXPECT_EQ(e.skew_ms(true_at(60'000), 60'000), 0);
}

TEST(ClockSkewEstimator, AnswersThatDisagreeGiveNoEstimate) {
  ClockSkewEstimator e;
  e.observe(kTrueS, 10'000);
  e.observe(kTrueS + 100, 10'000);
  e.observe(kTrueS - 100, 10'000);
  e.observe(kTrueS + 3600, 10'000);
  EXPECT_FALSE(e.skew_ms(true_at(10'000), 10'000));
}

TEST(ClockSkewEstimator, FollowsTheNewTruthOnceMostOfTheWindowSaysSo) {
  // The steady clock's relation to true time changed (e.g. a host suspended): the median moves
  // once the new answers are the majority of the window.
  ClockSkewEstimator e;
  feed(e, 0, ClockSkewEstimator::kWindow);
  feed(e, 100, ClockSkewEstimator::kWindow / 2 + 1, 120, 600);
  const int64_t steady = 120'000;
  EXPECT_NEAR(static_cast<double>(e.skew_ms(true_at(steady), steady).value()), -600'000, 1000);
}

TEST(ClockSkewEstimator, ReadsDateHeaders) {
  ClockSkewEstimator e;
  EXPECT_FALSE(e.observe_date_header("yesterday", 0));
  EXPECT_FALSE(e.observe_date_header("", 0));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(e.observe_date_header("Wed, 02 Dec 2026 03:20:00 GMT", 10'000));
  EXPECT_EQ(e.samples(), 3u);
  // 03:20:00.5 true at steady 10'000; a wall clock reading 04:20:00.5 is an hour ahead.
  EXPECT_EQ(e.skew_ms(kTrueS * 1000 + 500 + kHour, 10'000), kHour);
}

TEST(HttpDate, ParsesImfFixdateOnly) {
  auto t = parse_http_date(" Wed, 02 Dec 2026 03:20:00 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(),
            kTrueS);
  EXPECT_FALSE(parse_http_date("2026-12-02T03:20:00Z"));
  EXPECT_FALSE(parse_http_date(std::string(200, 'x')));
}

TEST(ClockSkewEstimator, ObserveAndReadFromManyThreads) {
  ClockSkewEstimator e;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&e] {
      for (int i = 0; i < 2000; ++i) {
        e.observe(kTrueS + i % 50, 10'000 + (i % 50) * 1000);
        (void)e.corrected_ms(true_at(20'000), 20'000);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(e.samples(), 8000u);
  EXPECT_TRUE(e.skew_ms(true_at(20'000), 20'000));
}

}  // namespace
}  // namespace oemlink::net
