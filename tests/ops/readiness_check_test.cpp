// ReadinessCheck over made-up RuntimeHealth snapshots: the clock is whatever the test writes in
// now_steady_ms, so staleness is checked at its boundary without waiting.
#include "core/ops/readiness_check.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace oemlink::ops {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kStart = 1'000'000;  // steady ms at start

host::RuntimeHealth healthy() {
  host::RuntimeHealth h;
  h.started_steady_ms = kStart;
  h.now_steady_ms = kStart + 60'000;
  h.config_loaded = true;
  h.config_source = "/etc/oemlink/oemlink.yaml";
  h.vault_open = true;
  h.outbox_present = true;
  host::SinkHealth dimo;
  dimo.name = "dimo";
  dimo.staleness = 5min;
  h.sinks.push_back(dimo);
  return h;
}

boost::json::object parse(const Readiness& r) {
  return boost::json::parse(r.to_json()).as_object();
}

TEST(ReadinessCheck, ReadyWhenEverythingHolds) {
  Readiness r = ReadinessCheck().evaluate(healthy());
  EXPECT_TRUE(r.ready);
  EXPECT_TRUE(r.failing.empty());
  EXPECT_EQ(r.to_json(), R"({"ready":true})");
}

TEST(ReadinessCheck, ASinkWithNothingWaitingIsReadyHoweverLongAgoItDelivered) {
  host::RuntimeHealth h = healthy();
  h.sinks[0].last_delivered_steady_ms = kStart + 1;
  h.now_steady_ms = kStart + 24 * 3'600'000LL;
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready);
}

TEST(ReadinessCheck, ASinkWithEventsWaitingIsStaleOnlyPastItsStaleness) {
  host::RuntimeHealth h = healthy();
  h.sinks[0].pending = 12;
  h.sinks[0].last_delivered_steady_ms = kStart + 10'000;
  h.now_steady_ms = kStart + 10'000 + 300'000;  // exactly the staleness: still within it
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready);
  h.now_steady_ms += 1;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  ASSERT_EQ(r.failing.size(), 1u);
  EXPECT_EQ(r.failing[0].check, "sink");
  EXPECT_EQ(r.failing[0].sink, "dimo");
  h.now_steady_ms = kStart + 10'000 + 360'000;
  r = ReadinessCheck().evaluate(h);
  EXPECT_EQ(r.failing[0].reason, "12 events waiting, last delivery 6m ago (staleness 5m)");
  auto j = parse(r);
  EXPECT_EQ(j.at("ready"), false);
  ASSERT_EQ(j.at("failing").as_array().size(), 1u);
  auto f = j.at("failing").as_array()[0].as_object();
  EXPECT_EQ(f.at("check"), "sink");
  EXPECT_EQ(f.at("sink"), "dimo");
  EXPECT_EQ(f.at("reason"), "12 events waiting, last delivery 6m ago (staleness 5m)");
}

TEST(ReadinessCheck, ASinkThatNeverDeliveredCountsFromTheStart) {
  host::RuntimeHealth h = healthy();
  h.sinks[0].pending = 1;
  h.sinks[0].staleness = 2s;
  h.now_steady_ms = kStart + 2000;
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready) << "a fresh start gets its staleness";
  h.now_steady_ms = kStart + 2500;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  EXPECT_EQ(r.failing[0].reason,
            "1 event waiting, no delivery since start 2.5s ago (staleness 2s)");
}

// A sink a reload added (or changed) an hour after the start is not stale the moment it starts:
// its staleness runs from its own dispatcher's start.
TEST(ReadinessCheck, ASinkStartedByAReloadCountsFromItsOwnStart) {
  host::RuntimeHealth h = healthy();
  h.sinks[0].pending = 3;
  h.sinks[0].staleness = 2s;
  h.sinks[0].started_steady_ms = kStart + 3'600'000;
  h.now_steady_ms = kStart + 3'601'000;
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready);
  h.now_steady_ms = kStart + 3'603'000;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  EXPECT_EQ(r.failing[0].reason, "3 events waiting, no delivery since start 3s ago (staleness 2s)");
}

TEST(ReadinessCheck, EachSinkIsJudgedByItsOwnStaleness) {
  host::RuntimeHealth h = healthy();
  host::SinkHealth file;
  file.name = "archive";
  file.staleness = 10s;
  file.pending = 3;
  file.last_delivered_steady_ms = h.now_steady_ms - 11'000;
  h.sinks.push_back(file);
  h.sinks[0].pending = 3;
  h.sinks[0].last_delivered_steady_ms = h.now_steady_ms - 11'000;  // within dimo's 5m
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_EQ(r.failing.size(), 1u);
  EXPECT_EQ(r.failing[0].sink, "archive");
  EXPECT_EQ(r.failing[0].reason, "3 events waiting, last delivery 11s ago (staleness 10s)");
}

TEST(ReadinessCheck, NamesEveryFailureAtOnce) {
  host::RuntimeHealth h = healthy();
  h.config_loaded = false;
  h.vault_open = false;
  h.outbox_failing = true;
  h.outbox_consecutive_failures = 4;
  h.outbox_error = "database or disk is full";
  h.sinks[0].pending = 7;
  h.now_steady_ms = kStart + 3'900'000;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  ASSERT_EQ(r.failing.size(), 4u);
  EXPECT_EQ(r.failing[0].check, "config");
  EXPECT_EQ(r.failing[1].check, "vault");
  EXPECT_EQ(r.failing[2].check, "outbox");
  EXPECT_EQ(r.failing[2].reason, "commits failing (4 attempts): database or disk is full");
  EXPECT_EQ(r.failing[3].check, "sink");
  EXPECT_EQ(r.failing[3].reason,
            "7 events waiting, no delivery since start 1h5m ago (staleness 5m)");
  auto j = parse(r);  // valid JSON; checks without a sink carry no "sink" member
  EXPECT_FALSE(j.at("failing").as_array()[0].as_object().contains("sink"));
}

TEST(ReadinessCheck, WithoutAnOutboxItsFailureFlagMeansNothing) {
  host::RuntimeHealth h = healthy();
  h.outbox_present = false;
  h.outbox_failing = true;
  h.sinks.clear();
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready);
}

TEST(ReadinessCheck, ShutdownIsNotReady) {
  host::RuntimeHealth h = healthy();
  h.stopping = true;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  EXPECT_EQ(r.failing[0].check, "shutdown");
}

TEST(ReadinessCheck, ReasonsAreEscapedInTheJson) {
  host::RuntimeHealth h = healthy();
  h.outbox_failing = true;
  h.outbox_consecutive_failures = 1;
  h.outbox_error = "disk \"full\"\nreally";
  auto j = parse(ReadinessCheck().evaluate(h));
  EXPECT_EQ(j.at("failing").as_array()[0].as_object().at("reason"),
            "commits failing (1 attempts): disk \"full\"\nreally");
}

TEST(ReadinessCheck, AClockMoreThanAMinuteOffIsNotReadyAndNamed) {
  host::RuntimeHealth h = healthy();
  for (int64_t skew : {int64_t{0}, int64_t{59'000}, int64_t{-60'000}}) {
    h.clock_skew_ms = skew;
    EXPECT_TRUE(ReadinessCheck().evaluate(h).ready) << skew;
  }
  h.clock_skew_ms = std::nullopt;  // no estimate yet: nothing known to be wrong
  EXPECT_TRUE(ReadinessCheck().evaluate(h).ready);
  h.clock_skew_ms = -7'200'000;
  Readiness r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  ASSERT_EQ(r.failing.size(), 1u);
  EXPECT_EQ(r.failing[0].check, "clock");
  EXPECT_EQ(r.failing[0].reason,
            "local clock behind true time by 2h (from HTTPS Date headers; over 1m): fix NTP");
  h.clock_skew_ms = 61'000;
  r = ReadinessCheck().evaluate(h);
  ASSERT_FALSE(r.ready);
  EXPECT_EQ(parse(r).at("failing").as_array()[0].as_object().at("check"), "clock");
  EXPECT_NE(r.failing[0].reason.find("ahead of true time by 1m1s"), std::string::npos);
}

TEST(HumanDuration, ReadsAsAnOperatorWritesIt) {
  EXPECT_EQ(human_duration(850ms), "850ms");
  EXPECT_EQ(human_duration(2500ms), "2.5s");
  EXPECT_EQ(human_duration(2s), "2s");
  EXPECT_EQ(human_duration(2001ms), "2s");
  EXPECT_EQ(human_duration(2099ms), "2s");
  EXPECT_EQ(human_duration(12s), "12s");
  EXPECT_EQ(human_duration(12'700ms), "12s");
  EXPECT_EQ(human_duration(5min), "5m");
  EXPECT_EQ(human_duration(6min + 30s), "6m30s");
  EXPECT_EQ(human_duration(1h + 5min), "1h5m");
  EXPECT_EQ(human_duration(2h), "2h");
}

}  // namespace
}  // namespace oemlink::ops
