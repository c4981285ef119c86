// SigningStage with a scripted primary sink and a recorded pause: FIFO settling with receipts,
// validation on the caller's thread, copies of the driver's views, back-pressure when the queue
// is full, waiting out an unavailable sink without dropping, and giving up only when stopping.
#include "core/pipeline/signing_stage.hpp"

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace oemlink::pipeline {
namespace {

using namespace std::chrono_literals;
using oemlink::Reading;

constexpr int64_t kNow = 1'741'089'660'000;  // 2025-03-04T12:01:00Z

// The primary sink: receipts count up from 1; it can refuse (outbox full) a number of times, or
// hold the worker inside append() (a slow disk) until released.
class ScriptedSink final : public EventSink {
 public:
  std::string_view name() const override { return "primary"; }
  bool append(const Event& e) override {
    std::unique_lock lock(mu_);
    ++appends_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    if (refusals_ > 0) {
      --refusals_;
      return false;
    }
    events_.push_back(e.json);
    last_ = events_.size();
    return true;
  }
  void flush() override {}
  uint64_t last_receipt() const override { return last_; }  // worker thread, after append
  bool accepting() const override { return accepting_; }
  void set_accepting(bool yes) { accepting_ = yes; }

  void refuse(int times) {
    std::lock_guard lock(mu_);
    refusals_ = times;
  }
  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits until the worker has entered append() `n` times in all.
  void wait_for_appends(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return appends_ >= n; });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int refusals_ = 0;
  int appends_ = 0;
  std::vector<std::string> events_;
  uint64_t last_ = 0;
  std::atomic<bool> accepting_{true};
};

// What settled() reported, and every pause the worker asked for.
struct Record {
  std::mutex mu;
  std::vector<std::pair<uint32_t, uint64_t>> settled;
  std::vector<std::chrono::milliseconds> pauses;

  SigningStage::Settled on_settled() {
    return [this](uint32_t tag, uint64_t receipt) {
      std::lock_guard lock(mu);
      settled.emplace_back(tag, receipt);
    };
  }
  SigningStage::Pause on_pause(std::function<void()> also = {}) {
    return [this, also](std::chrono::milliseconds d) {
      {
        std::lock_guard lock(mu);
        pauses.push_back(d);
      }
      if (also) also();
    };
  }
  std::vector<std::pair<uint32_t, uint64_t>> settled_now() {
    std::lock_guard lock(mu);
    return settled;
  }
};

ConnectionIdentity car() {
  return {.id = "car-1",
          .vin = "5YJ3E1EA7KF000001",
          .vehicle_token_id = 42,
          .synthetic_token_id = 7,
          .key_child = 3};
}

class SigningStageTest : public ::testing::Test {
 protected:
  MetricsRegistry metrics_;
  ScriptedSink sink_;
  Pipeline pipeline_{EventBuilder(EnvelopeSettings{}), {&sink_}, metrics_};
  Record record_;
  oemlink_reading speed_[1] = {Reading::number("speed", kNow, 50)};
};

TEST_F(SigningStageTest, SettlesBatchesInOrderWithThePrimarySinksReceipts) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  for (uint32_t tag = 1; tag <= 20; ++tag) {
    auto s = stage.submit(tag, car(), speed_, kNow);
    EXPECT_EQ(s.status, OEMLINK_OK);
    EXPECT_TRUE(s.queued);
  }
  stage.drain();
  auto settled = record_.settled_now();
  ASSERT_EQ(settled.size(), 20u);
  for (uint32_t i = 0; i < 20; ++i) EXPECT_EQ(settled[i], std::make_pair(i + 1, uint64_t(i + 1)));
  EXPECT_EQ(sink_.events().size(), 20u);
  EXPECT_TRUE(record_.pauses.empty());
}

TEST_F(SigningStageTest, RejectsBadReadingsAtOnceAndQueuesTheValidOnes) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  oemlink_reading mixed[] = {Reading::number("speed", kNow, 50),
                             Reading::number("warpFactor", kNow, 9)};
  auto s = stage.submit(1, car(), mixed, kNow);
  EXPECT_EQ(s.status, OEMLINK_ERROR);
  EXPECT_TRUE(s.queued);
  oemlink_reading bad[] = {Reading::number("warpFactor", kNow, 9)};
  s = stage.submit(2, car(), bad, kNow);
  EXPECT_EQ(s.status, OEMLINK_ERROR);
  EXPECT_FALSE(s.queued);
  stage.drain();
  EXPECT_EQ(record_.settled_now(), (std::vector<std::pair<uint32_t, uint64_t>>{{1, 1}}));
  EXPECT_EQ(metrics_.counter("oemlink_pipeline_readings_rejected_total", "").value(), 2u);
}

TEST_F(SigningStageTest, KeepsItsOwnCopyOfWhatTheDriversViewsPointAt) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  sink_.hold();
  ASSERT_TRUE(stage.submit(1, car(), speed_, kNow).queued);
  sink_.wait_for_appends(1);  // the worker is busy: the next batch waits in the queue
  std::string name = "bodyBodyType", text = "sedan";
  oemlink_reading r[] = {Reading::text(name, kNow, text)};
  ASSERT_TRUE(stage.submit(2, car(), r, kNow).queued);
  name.assign(name.size(), 'X');  // the driver reuses its buffers once emit returns
  text.assign(text.size(), 'Y');
  sink_.release();
  stage.drain();
  auto events = sink_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[1].find(R"("name":"bodyBodyType")"), std::string::npos) << events[1];
  EXPECT_NE(events[1].find(R"("value":"sedan")"), std::string::npos) << events[1];
}

TEST_F(SigningStageTest, AFullQueueAnswersRetryAndTakesNothing) {
  SigningStage stage(pipeline_, record_.on_settled(), /*max_queued=*/2, record_.on_pause());
  sink_.hold();
  ASSERT_TRUE(stage.submit(1, car(), speed_, kNow).queued);
  sink_.wait_for_appends(1);  // job 1 left the queue and holds the worker
  EXPECT_TRUE(stage.submit(2, car(), speed_, kNow).queued);
  EXPECT_TRUE(stage.submit(3, car(), speed_, kNow).queued);
  auto s = stage.submit(4, car(), speed_, kNow);
  EXPECT_EQ(s.status, OEMLINK_RETRY);
  EXPECT_FALSE(s.queued);
  EXPECT_EQ(stage.queued(), 2u);
  sink_.release();
  stage.drain();
  EXPECT_EQ(record_.settled_now(),
            (std::vector<std::pair<uint32_t, uint64_t>>{{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(metrics_.counter("oemlink_pipeline_readings_accepted_total", "").value(),
            3u);                 // 4 never validated
  EXPECT_EQ(stage.taken(), 3u);  // the refused batch is not counted: no settlement will come
}

// taken() counts exactly the batches that will be settled, in settlement order: the mark the
// webhook hold waits on.
TEST_F(SigningStageTest, TakenCountsTheBatchesThatWillSettle) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  EXPECT_EQ(stage.taken(), 0u);
  oemlink_reading bad[] = {Reading::number("warpFactor", kNow, 9)};
  EXPECT_FALSE(stage.submit(1, car(), bad, kNow).queued);  // nothing valid: nothing queued
  EXPECT_EQ(stage.taken(), 0u);
  for (uint32_t tag = 1; tag <= 5; ++tag) stage.submit(tag, car(), speed_, kNow);
  EXPECT_EQ(stage.taken(), 5u);
  stage.drain();
  EXPECT_EQ(record_.settled_now().size(), stage.taken());
}

TEST_F(SigningStageTest, AnUnavailableSinkIsWaitedOutWithGrowingPausesNotDropped) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  sink_.refuse(8);
  ASSERT_TRUE(stage.submit(1, car(), speed_, kNow).queued);
  stage.drain();
  EXPECT_EQ(record_.settled_now(), (std::vector<std::pair<uint32_t, uint64_t>>{{1, 1}}));
  std::vector<std::chrono::milliseconds> expected = {5ms,  10ms,  20ms,  40ms,
                                                     80ms, 160ms, 200ms, 200ms};
  EXPECT_EQ(record_.pauses, expected);
}

TEST_F(SigningStageTest, WhenStoppingAnUndeliverableBatchIsGivenUpAfterOneMoreAttempt) {
  SigningStage* stage_ptr = nullptr;
  int pauses = 0;
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause([&] {
    if (++pauses == 3) stage_ptr->stop_retrying();  // shutdown arrives during the third wait
  }));
  stage_ptr = &stage;
  sink_.refuse(1'000'000);
  ASSERT_TRUE(stage.submit(7, car(), speed_, kNow).queued);
  stage.drain();
  EXPECT_EQ(record_.settled_now(), (std::vector<std::pair<uint32_t, uint64_t>>{{7, 0}}));
  EXPECT_EQ(record_.pauses.size(), 3u);
  EXPECT_TRUE(sink_.events().empty());
}

// Shutdown out of time (a sink that holds the worker, as a stalled disk would): drain_until gives
// up at its deadline, abandon() drops what is still queued unsettled and refuses new batches, and
// the job in hand still finishes.
TEST_F(SigningStageTest, DrainUntilGivesUpAtItsDeadlineAndAbandonDropsTheQueue) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  sink_.hold();
  for (uint32_t tag = 1; tag <= 4; ++tag)
    ASSERT_TRUE(stage.submit(tag, car(), speed_, kNow).queued);
  sink_.wait_for_appends(1);  // job 1 holds the worker, 2..4 wait
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(stage.drain_until(t0 + 100ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(stage.abandon(), 3u);
  EXPECT_EQ(stage.submit(5, car(), speed_, kNow).status, OEMLINK_RETRY);
  sink_.release();
  EXPECT_TRUE(stage.drain_until(std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(record_.settled_now(), (std::vector<std::pair<uint32_t, uint64_t>>{{1, 1}}));
  EXPECT_EQ(stage.taken(), 4u);
}

// The outbox cannot commit (a full disk): nothing is taken, not even into the queue, so nothing a
// driver was told was taken can be lost when a shutdown gives up on the outbox. Counted as
// back-pressure; batches are taken again once commits work.
TEST_F(SigningStageTest, WhileThePrimarySinkIsNotAcceptingNothingIsTaken) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  sink_.set_accepting(false);
  auto s = stage.submit(1, car(), speed_, kNow);
  EXPECT_EQ(s.status, OEMLINK_RETRY);
  EXPECT_FALSE(s.queued);
  EXPECT_EQ(stage.taken(), 0u);
  EXPECT_EQ(stage.queued(), 0u);
  EXPECT_EQ(metrics_.total("oemlink_pipeline_events_backpressured_total"), 1);
  EXPECT_EQ(pipeline_.submit(car(), speed_, kNow).status, OEMLINK_RETRY);
  EXPECT_EQ(metrics_.total("oemlink_pipeline_events_backpressured_total"), 2);
  sink_.set_accepting(true);
  EXPECT_TRUE(stage.submit(2, car(), speed_, kNow).queued);
  stage.drain();
  EXPECT_EQ(record_.settled_now(), (std::vector<std::pair<uint32_t, uint64_t>>{{2, 1}}));
  EXPECT_EQ(sink_.events().size(), 1u);
}

// A closed connection's event-time history is forgotten after the batches queued before the
// close: the first batch below still builds with it, the one after the close starts afresh.
TEST_F(SigningStageTest, ForgettingAConnectionWaitsForItsQueuedBatches) {
  SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
  sink_.hold();
  oemlink_reading first[] = {Reading::number("speed", kNow, 50)};
  oemlink_reading earlier[] = {Reading::number("speed", kNow - 2000, 51)};
  ASSERT_TRUE(stage.submit(1, car(), first, kNow).queued);
  ASSERT_TRUE(stage.submit(2, car(), earlier, kNow).queued);
  stage.forget("car-1");
  ASSERT_TRUE(stage.submit(3, car(), earlier, kNow).queued);
  sink_.release();
  stage.drain();
  auto events = sink_.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_NE(events[1].find("\"time\":\"2025-03-04T12:01:00.000Z\""), std::string::npos)
      << "before the close: held at the first event's time";
  EXPECT_NE(events[2].find("\"time\":\"2025-03-04T12:00:58.000Z\""), std::string::npos)
      << "after the close: its own time";
  EXPECT_EQ(stage.taken(), 3u);  // the forget is no batch
  EXPECT_EQ(record_.settled_now().size(), 3u);
}

TEST_F(SigningStageTest, DestructionFinishesEveryQueuedBatch) {
  std::thread releaser;
  {
    SigningStage stage(pipeline_, record_.on_settled(), 4096, record_.on_pause());
    sink_.hold();
    for (uint32_t tag = 1; tag <= 3; ++tag)
      EXPECT_TRUE(stage.submit(tag, car(), speed_, kNow).queued);
    sink_.wait_for_appends(1);
    releaser = std::thread([&] {
      std::this_thread::sleep_for(50ms);  // lets the destructor begin with batches 2 and 3 queued
      sink_.release();
    });
  }
  releaser.join();
  EXPECT_EQ(record_.settled_now().size(), 3u);
  EXPECT_EQ(sink_.events().size(), 3u);
}

}  // namespace
}  // namespace oemlink::pipeline
