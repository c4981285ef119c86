// UplinkDispatcher against a real outbox and a scripted deliverer, with a hand-moved clock:
// per-connection order, the in-flight bounds, back-off with jitter and Retry-After, dead letters,
// latency, batched acknowledgements and stop.
#include "core/uplink/uplink_dispatcher.hpp"

#include "tests/store/store_test_util.hpp"
#include "tests/uplink/fake_uplink_clock.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <map>

namespace oemlink::uplink {
namespace {

using namespace std::chrono_literals;
using Kind = DeliveryResult::Kind;
using Seqs = std::vector<uint64_t>;
using store::testing::key_of;
using store::testing::TempDir;
using testing::FakeUplinkClock;

constexpr const char* kSink = "scripted";

// Holds every delivery until the test completes it with the result it chooses.
class ScriptedDeliverer final : public EventDeliverer {
 public:
  explicit ScriptedDeliverer(size_t max_in_flight) : max_in_flight_(max_in_flight) {}
  std::string_view name() const override { return kSink; }
  size_t max_in_flight() const override { return max_in_flight_; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override {
    attempts_.push_back(record.seq);
    in_flight_.emplace(record.seq, Pending{record, std::move(done)});
  }
  void shutdown() override {
    ++shutdowns_;
    auto pending = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [seq, p] : pending) p.done({Kind::retry, "shut down", {}});
  }

  // Finishes the delivery of `seq`; the dispatcher may start the next one from inside.
  void complete(uint64_t seq, DeliveryResult result = {Kind::delivered, {}, {}}) {
    auto it = in_flight_.find(seq);
    ASSERT_NE(it, in_flight_.end()) << "seq " << seq << " is not in flight";
    DeliveryDone done = std::move(it->second.done);
    in_flight_.erase(it);
    done(std::move(result));
  }
  Seqs in_flight() const {
    Seqs out;
    for (auto& [seq, p] : in_flight_) out.push_back(seq);
    return out;
  }
  const store::OutboxRecord& record(uint64_t seq) const { return in_flight_.at(seq).record; }
  const Seqs& attempts() const { return attempts_; }
  int shutdowns() const { return shutdowns_; }

 private:
  struct Pending {
    store::OutboxRecord record;
    DeliveryDone done;
  };
  size_t max_in_flight_;
  std::map<uint64_t, Pending> in_flight_;
  Seqs attempts_;
  int shutdowns_ = 0;
};

// A real outbox in a temp dir, the loop run by the test thread, and one dispatcher.
class DispatcherRig {
 public:
  explicit DispatcherRig(size_t max_in_flight = 64, DispatcherOptions options = {})
      : outbox_(outbox_options(), key_of(7), nullptr), options_(options) {
    make_dispatcher(max_in_flight);
  }
  ~DispatcherRig() { dispatcher_.reset(); }

  // Appends one durable record for `connection`; returns its seq.
  uint64_t append(const std::string& connection) {
    std::string id = "ev-" + std::to_string(++appended_);
    auto seq = outbox_.append(id, connection, R"({"id":")" + id + R"("})");
    EXPECT_TRUE(seq);
    outbox_.flush();
    return seq.value_or(0);
  }

  // Runs the loop until `done()` holds (the outbox reader answers from its own thread).
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io_.run_for(2ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) { io_.run_for(d); }

  // Replaces the dispatcher (after stop()), as a restart would.
  void make_dispatcher(size_t max_in_flight) {
    dispatcher_.reset();
    auto d = std::make_unique<ScriptedDeliverer>(max_in_flight);
    auto c = std::make_unique<FakeUplinkClock>();
    deliverer_ = d.get();
    clock_ = c.get();
    dispatcher_ = std::make_unique<UplinkDispatcher>(io_, outbox_, std::move(d), metrics_, options_,
                                                     std::move(c));
  }

  UplinkDispatcher& dispatcher() { return *dispatcher_; }
  ScriptedDeliverer& deliverer() { return *deliverer_; }
  FakeUplinkClock& clock() { return *clock_; }
  store::OutboxStore& outbox() { return outbox_; }

 private:
  store::OutboxOptions outbox_options() {
    store::OutboxOptions o;
    o.path = dir_.path() / "outbox.db";
    o.sinks = {kSink};
    o.max_commit_delay = 0ms;
    return o;
  }

  TempDir dir_;
  store::OutboxStore outbox_;
  DispatcherOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  MetricsRegistry metrics_;
  int appended_ = 0;
  ScriptedDeliverer* deliverer_ = nullptr;
  FakeUplinkClock* clock_ = nullptr;
  std::unique_ptr<UplinkDispatcher> dispatcher_;
};

DispatcherOptions backoff_options(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  DispatcherOptions o;
  o.min_backoff = min;
  o.max_backoff = max;
  return o;
}

TEST(UplinkDispatcher, KeepsOneDeliveryInFlightPerConnectionInOrder) {
  DispatcherRig rig;
  uint64_t a1 = rig.append("car-a"), b1 = rig.append("car-b"), a2 = rig.append("car-a"),
           b2 = rig.append("car-b"), a3 = rig.append("car-a");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  rig.run_for(20ms);
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{a1, b1}));

  rig.deliverer().complete(a1);
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{b1, a2}));  // a2 starts as soon as a1 is done
  rig.deliverer().complete(a2);
  rig.deliverer().complete(b1);
  rig.deliverer().complete(a3);
  rig.deliverer().complete(b2);
  EXPECT_EQ(rig.deliverer().attempts(), (Seqs{a1, b1, a2, a3, b2}));
  auto s = rig.dispatcher().stats();
  EXPECT_EQ(s.delivered, 5u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.pending, 0u);
  // Acknowledgements reach the outbox within the ack interval, without a stop.
  EXPECT_TRUE(rig.run_until([&] { return rig.outbox().cursor(kSink) == a3; }));
  rig.dispatcher().stop();
}

// Readiness reads when a sink last delivered: a delivery sets it on the steady clock, a retry
// and a dead letter leave it, and a wall-clock step does not move it.
TEST(UplinkDispatcher, LastDeliveredIsTheSteadyTimeOfTheLastAcknowledgedDelivery) {
  DispatcherRig rig;
  uint64_t a1 = rig.append("car-a"), b1 = rig.append("car-b");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  EXPECT_EQ(rig.dispatcher().stats().last_delivered_steady_ms, 0) << "nothing delivered yet";
  rig.deliverer().complete(a1, {Kind::retry, "HTTP 503", {}});
  EXPECT_EQ(rig.dispatcher().stats().last_delivered_steady_ms, 0) << "a retry is no delivery";
  rig.clock().advance(1500ms);
  const int64_t delivered_at = rig.clock().steady_ms();
  rig.deliverer().complete(b1);
  EXPECT_EQ(rig.dispatcher().stats().last_delivered_steady_ms, delivered_at);
  rig.clock().set_unix_ms(rig.clock().unix_ms() - 3'600'000);  // NTP steps back an hour
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  rig.deliverer().complete(a1, {Kind::rejected, "HTTP 400", {}});
  EXPECT_EQ(rig.dispatcher().stats().last_delivered_steady_ms, delivered_at)
      << "a dead letter is no delivery";
  uint64_t a2 = rig.append("car-a");
  rig.dispatcher().wake();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  rig.clock().advance(250ms);
  rig.deliverer().complete(a2);
  EXPECT_EQ(rig.dispatcher().stats().last_delivered_steady_ms, delivered_at + 250);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, NeverHasMoreInFlightThanTheDelivererAllows) {
  DispatcherRig rig(/*max_in_flight=*/2);
  Seqs seqs;
  for (int i = 0; i < 6; ++i) seqs.push_back(rig.append("car-" + std::to_string(i)));
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  rig.run_for(20ms);
  EXPECT_EQ(rig.deliverer().in_flight().size(), 2u);
  for (int round = 0; round < 6; ++round) {
    Seqs now = rig.deliverer().in_flight();
    ASSERT_FALSE(now.empty());
    EXPECT_LE(now.size(), 2u);
    rig.deliverer().complete(now.front());
  }
  EXPECT_EQ(rig.deliverer().attempts(), seqs);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, ReadsInBatchesAndHoldsNoMoreThanMaxPending) {
  DispatcherOptions o;
  o.read_batch = 2;
  o.max_pending = 3;
  DispatcherRig rig(64, o);
  for (int i = 0; i < 7; ++i) rig.append("car-" + std::to_string(i));
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 3; }));
  rig.run_for(20ms);
  EXPECT_EQ(rig.dispatcher().stats().pending, 3u);  // a fourth record is not read yet
  size_t delivered = 0;
  while (delivered < 7) {
    ASSERT_TRUE(rig.run_until([&] { return !rig.deliverer().in_flight().empty(); }));
    EXPECT_LE(rig.dispatcher().stats().pending, 3u);
    rig.deliverer().complete(rig.deliverer().in_flight().front());
    ++delivered;
  }
  EXPECT_EQ(rig.dispatcher().stats().delivered, 7u);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, ARetryBacksOffWithJitterDoublingUpToTheMaximum) {
  DispatcherRig rig(64, backoff_options(1000ms, 8000ms));
  uint64_t seq = rig.append("car-a");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  const int64_t ceilings[] = {1000, 2000, 4000, 8000, 8000};
  for (size_t i = 0; i < std::size(ceilings); ++i) {
    rig.deliverer().complete(seq, {Kind::retry, "HTTP 503", {}});
    ASSERT_EQ(rig.clock().delays().size(), i + 1);
    int64_t d = rig.clock().delays().back().count();
    EXPECT_GE(d, ceilings[i] / 2) << "retry #" << i + 1;  // equal jitter: [ceiling/2, ceiling]
    EXPECT_LE(d, ceilings[i]) << "retry #" << i + 1;
    EXPECT_TRUE(rig.deliverer().in_flight().empty());
    rig.clock().advance(std::chrono::milliseconds(d - 1));
    EXPECT_TRUE(rig.deliverer().in_flight().empty()) << "redelivered before its back-off";
    rig.clock().advance(1ms);
    ASSERT_EQ(rig.deliverer().in_flight(), (Seqs{seq})) << "not redelivered after its back-off";
  }
  // Jitter: the five delays are not all at the same point of their band.
  std::set<int64_t> ratios;
  for (size_t i = 0; i < std::size(ceilings); ++i)
    ratios.insert(rig.clock().delays()[i].count() * 1000 / ceilings[i]);
  EXPECT_GT(ratios.size(), 1u);
  EXPECT_EQ(rig.dispatcher().stats().retried, 5u);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, RetryAfterIsTheFloorOfTheBackOff) {
  DispatcherRig rig(64, backoff_options(250ms, 60'000ms));
  uint64_t seq = rig.append("car-a");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  rig.deliverer().complete(seq, {Kind::retry, "HTTP 429", 30'000ms});
  ASSERT_EQ(rig.clock().delays().size(), 1u);
  EXPECT_EQ(rig.clock().delays()[0], 30'000ms);
  rig.clock().advance(29'999ms);
  EXPECT_TRUE(rig.deliverer().in_flight().empty());
  rig.clock().advance(1ms);
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{seq}));
  // A Retry-After shorter than the back-off does not shorten it.
  rig.deliverer().complete(seq, {Kind::retry, "HTTP 429", 1ms});
  EXPECT_GE(rig.clock().delays()[1], 250ms);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, ADeliveryResetsTheBackOff) {
  DispatcherRig rig(64, backoff_options(1000ms, 60'000ms));
  uint64_t first = rig.append("car-a"), second = rig.append("car-a");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  for (int i = 0; i < 3; ++i) {
    rig.deliverer().complete(first, {Kind::retry, "timeout", {}});
    rig.clock().advance(rig.clock().delays().back());
  }
  EXPECT_GE(rig.clock().delays().back(), 2000ms);  // third failure: [2 s, 4 s]
  rig.deliverer().complete(first);
  ASSERT_EQ(rig.deliverer().in_flight(), (Seqs{second}));
  rig.deliverer().complete(second, {Kind::retry, "timeout", {}});
  EXPECT_LE(rig.clock().delays().back(), 1000ms);  // first failure again: [0.5 s, 1 s]
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, AConnectionBackingOffHoldsUpOnlyItself) {
  DispatcherRig rig(64, backoff_options(1000ms, 60'000ms));
  uint64_t a1 = rig.append("car-a"), a2 = rig.append("car-a"), b1 = rig.append("car-b"),
           b2 = rig.append("car-b");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  rig.deliverer().complete(a1, {Kind::retry, "HTTP 500", {}});
  rig.deliverer().complete(b1);
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{b2}));  // a2 waits behind a1, b goes on
  rig.deliverer().complete(b2);
  rig.clock().advance(rig.clock().delays().back());
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{a1}));
  rig.deliverer().complete(a1);
  rig.deliverer().complete(a2);
  EXPECT_EQ(rig.deliverer().attempts(), (Seqs{a1, b1, b2, a1, a2}));
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, ARejectedEventIsDeadLetteredAndItsConnectionMovesOn) {
  DispatcherRig rig;
  uint64_t a1 = rig.append("car-a"), a2 = rig.append("car-a");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 1; }));
  rig.deliverer().complete(a1, {Kind::rejected, "HTTP 400: bad signature", {}});
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{a2}));  // at once: no back-off after a rejection
  EXPECT_TRUE(rig.clock().delays().empty());
  rig.deliverer().complete(a2);
  rig.dispatcher().stop();  // writes what is queued
  auto dead = rig.outbox().dead_letters(kSink);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].seq, a1);
  EXPECT_EQ(dead[0].reason, "HTTP 400: bad signature");
  EXPECT_EQ(rig.outbox().cursor(kSink), a2);
  auto s = rig.dispatcher().stats();
  EXPECT_EQ(s.dead_lettered, 1u);
  EXPECT_EQ(s.delivered, 1u);
}

TEST(UplinkDispatcher, LatencyRunsFromAppendToAcknowledgementOnItsClock) {
  DispatcherRig rig;
  for (int i = 0; i < 4; ++i) rig.append("car-" + std::to_string(i));
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 4; }));
  const int64_t latencies[] = {100, 200, 300, 5000};
  Seqs seqs = rig.deliverer().in_flight();
  for (size_t i = 0; i < seqs.size(); ++i) {
    rig.clock().set_unix_ms(rig.deliverer().record(seqs[i]).appended_ms + latencies[i]);
    rig.deliverer().complete(seqs[i]);
  }
  auto s = rig.dispatcher().stats();
  EXPECT_EQ(s.latency_p50_ms, 200);
  EXPECT_EQ(s.latency_p99_ms, 5000);
  EXPECT_EQ(s.latency_max_ms, 5000);
  rig.dispatcher().reset_latency();
  s = rig.dispatcher().stats();
  EXPECT_EQ(s.latency_p50_ms, 0);
  EXPECT_EQ(s.latency_max_ms, 0);
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, AcknowledgementsAreGatheredAndStopWritesThem) {
  DispatcherOptions o;
  o.ack_interval = std::chrono::hours(1);  // the writer waits for a batch far longer than the test
  DispatcherRig rig(64, o);
  Seqs seqs;
  for (int i = 0; i < 3; ++i) seqs.push_back(rig.append("car-a"));
  rig.dispatcher().start();
  for (uint64_t seq : seqs) {
    ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight() == Seqs{seq}; }));
    rig.deliverer().complete(seq);
  }
  rig.run_for(50ms);
  EXPECT_EQ(rig.outbox().cursor(kSink), 0u);  // one write per interval, not one per event
  rig.dispatcher().stop();
  EXPECT_EQ(rig.outbox().cursor(kSink), seqs.back());
  // Nothing is delivered twice after a restart.
  rig.make_dispatcher(64);
  rig.dispatcher().start();
  rig.run_for(50ms);
  EXPECT_TRUE(rig.deliverer().attempts().empty());
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, StopLeavesWhatIsInFlightInTheOutboxForTheNextStart) {
  DispatcherRig rig;
  uint64_t a1 = rig.append("car-a"), b1 = rig.append("car-b");
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  rig.dispatcher().stop();
  EXPECT_EQ(rig.deliverer().shutdowns(), 1);
  auto s = rig.dispatcher().stats();
  EXPECT_EQ(s.retried, 0u);  // failed back by the stop, not counted as the peer's retries
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(rig.outbox().cursor(kSink), 0u);
  EXPECT_EQ(rig.clock().armed(), 0u);
  rig.make_dispatcher(64);
  rig.dispatcher().start();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight().size() == 2; }));
  EXPECT_EQ(rig.deliverer().in_flight(), (Seqs{a1, b1}));
  rig.dispatcher().stop();
}

TEST(UplinkDispatcher, ReadsOnlyAfterAWakeOnceIdle) {
  DispatcherRig rig;
  rig.dispatcher().start();
  rig.run_for(20ms);
  uint64_t seq = rig.append("car-a");
  rig.run_for(50ms);
  EXPECT_TRUE(rig.deliverer().attempts().empty());  // an idle sink costs no reads
  rig.dispatcher().wake();
  ASSERT_TRUE(rig.run_until([&] { return rig.deliverer().in_flight() == Seqs{seq}; }));
  rig.dispatcher().stop();
}

}  // namespace
}  // namespace oemlink::uplink
