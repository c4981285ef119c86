// driver.hpp's completion rules: a poll completes exactly once, a lost completion reports an
// error instead of hanging the connection, and exceptions become errors with their message.
#include <oemlink/testkit/driver_harness.hpp>

#include <oemlink/driver.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>

namespace oemlink::test {
namespace {

using namespace ::oemlink::testkit;

TEST(SdkPollDone, SecondCompletionIsIgnored) {
  Completion c;
  PollDone done(&Completion::record, &c);
  EXPECT_TRUE(done);
  done.ok();
  EXPECT_FALSE(done);
  done.error("late");
  done.retry("later");
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_OK);
}

TEST(SdkPollDone, DroppedCompletionReportsAnError) {
  Completion c;
  { PollDone done(&Completion::record, &c); }
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  EXPECT_EQ(c.message, "poll completion dropped by the driver");
}

TEST(SdkPollDone, MovingTransfersTheDutyWithoutCompleting) {
  Completion c;
  std::optional<PollDone> later;
  {
    PollDone done(&Completion::record, &c);
    later.emplace(std::move(done));
  }
  EXPECT_EQ(c.calls, 0) << "the moved-from completion must stay silent";
  later->retry("busy");
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_RETRY);
  EXPECT_EQ(c.message, "busy");
}

TEST(SdkPollDone, OverwritingAPendingCompletionFinishesIt) {
  Completion first, second;
  PollDone a(&Completion::record, &first);
  a = PollDone(&Completion::record, &second);
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(first.status, OEMLINK_ERROR);
  a.ok();
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(second.status, OEMLINK_OK);
}

// A connection whose poll() behaviour each test picks.
class ScriptedConnection : public Connection {
 public:
  enum class Mode { kThrow, kThrowUnknown, kCompleteThenThrow, kKeepThenThrow, kSwallowDrop };
  explicit ScriptedConnection(Mode mode, std::optional<PollDone>* kept)
      : mode_(mode), kept_(kept) {}
  void poll(PollDone done) override {
    switch (mode_) {
      case Mode::kThrow:
        throw std::runtime_error("tesla: vehicle_data JSON lacks charge_state");
      case Mode::kThrowUnknown:
        throw 42;
      case Mode::kCompleteThenThrow:
        done.ok();
        throw std::runtime_error("after completing");
      case Mode::kKeepThenThrow:
        kept_->emplace(std::move(done));
        throw std::runtime_error("after handing the completion on");
      case Mode::kSwallowDrop:
        try {
          PollDone moved = std::move(done);
          throw std::runtime_error("internal");
        } catch (const std::exception&) {
        }
        return;
    }
  }

 private:
  Mode mode_;
  std::optional<PollDone>* kept_;
};

struct Script {
  static inline ScriptedConnection::Mode mode;
  static inline std::optional<PollDone>* kept;
};

class ScriptedDriver : public Driver {
 public:
  ScriptedDriver(Host, std::string_view) {}
  std::unique_ptr<Connection> open(ConnHandle, const ConnInfo&) override {
    return std::make_unique<ScriptedConnection>(Script::mode, Script::kept);
  }
};

const oemlink_driver* scripted_descriptor() {
  return make_descriptor<ScriptedDriver>("scripted", "0.0.1", "test", OEMLINK_CAP_POLL, nullptr, 0);
}

Completion poll_scripted(ScriptedConnection::Mode mode) {
  Script::mode = mode;
  Script::kept = nullptr;
  DriverUnderTest t(scripted_descriptor(), "{}");
  return t.poll(t.open("c"));
}

TEST(SdkAdapter, ExceptionFromPollBecomesAnErrorWithItsMessage) {
  Completion c = poll_scripted(ScriptedConnection::Mode::kThrow);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  EXPECT_EQ(c.message, "tesla: vehicle_data JSON lacks charge_state");
}

TEST(SdkAdapter, NonStandardExceptionBecomesAnError) {
  Completion c = poll_scripted(ScriptedConnection::Mode::kThrowUnknown);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  EXPECT_EQ(c.message, "unknown exception in poll");
}

TEST(SdkAdapter, ExceptionAfterCompletingDoesNotCompleteAgain) {
  Completion c = poll_scripted(ScriptedConnection::Mode::kCompleteThenThrow);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_OK);
}

TEST(SdkAdapter, CompletionHandedOnBeforeAnExceptionStaysTheDrivers) {
  std::optional<PollDone> kept;
  Script::mode = ScriptedConnection::Mode::kKeepThenThrow;
  Script::kept = &kept;
  DriverUnderTest t(scripted_descriptor(), "{}");
  Completion& c = t.poll(t.open("c"));
  EXPECT_EQ(c.calls, 0) << "the driver still owns the completion it stored";
  ASSERT_TRUE(kept.has_value());
  kept->ok();
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_OK);
}

TEST(SdkAdapter, CompletionLostToACaughtExceptionStillReportsDropped) {
  Completion c = poll_scripted(ScriptedConnection::Mode::kSwallowDrop);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.status, OEMLINK_ERROR);
  EXPECT_EQ(c.message, "poll completion dropped by the driver");
}

TEST(SdkMacro, NoSettingsMeansAnEmptyTable) {
  static constexpr oemlink_setting kOne[] = {
      setting("token_url", OEMLINK_SETTING_STRING, OEMLINK_SETTING_REQUIRED, nullptr, "where")};
  EXPECT_EQ(detail::settings_count(kOne), 1u);
  EXPECT_EQ(detail::settings_data(kOne), kOne);
  EXPECT_EQ(detail::settings_count(OEMLINK_NO_SETTINGS), 0u);
  EXPECT_EQ(detail::settings_data(OEMLINK_NO_SETTINGS), nullptr);
}

}  // namespace
}  // namespace oemlink::test
