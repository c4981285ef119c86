// The host side of a driver in its own process, against a process that misbehaves on purpose
// (fake_driver_process.cpp): a reply of the wrong shape is the process's fault and ends only the
// process, an answer too large for a frame fails the driver's request instead of throwing into
// the host, and a connection whose process died right after opening it is opened again in the
// next process.
#include "core/isolation/remote_driver.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace oemlink::isolation;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// What the fake host saw; shared with detached timer and HTTP threads, so never destroyed.
struct FakeHost {
  std::atomic<uint64_t> next_timer{1};
  std::atomic<int> http_threw{0};
  std::atomic<int> http_answered{0};
  std::atomic<bool> refuse_timers{false};  // as a host does for a driver it is letting go of
  size_t http_body_size = 0;
};
FakeHost& fake() {
  static auto* f = new FakeHost();
  return *f;
}

// Only what these tests reach: timers (the restart back-off) and HTTP (a large answer), each
// completed on a thread of its own, as the host's loop would.
oemlink_host make_host() {
  oemlink_host h{};
  h.struct_size = sizeof h;
  h.abi_major = OEMLINK_ABI_MAJOR;
  h.abi_minor = OEMLINK_ABI_MINOR;
  h.log = [](const oemlink_host*, oemlink_conn*, oemlink_log_level, oemlink_str) {};
  h.emit = [](const oemlink_host*, oemlink_conn*, const oemlink_reading*, size_t) {
    return oemlink_status{OEMLINK_OK};
  };
  h.report_state = [](const oemlink_host*, oemlink_conn*, oemlink_conn_state, int64_t,
                      oemlink_str) {};
  h.http_request = [](const oemlink_host*, oemlink_conn*, const oemlink_http_request*,
                      oemlink_http_done_fn done, void* ctx) {
    std::thread([done, ctx] {
      std::string body(fake().http_body_size, 'a');
      oemlink_http_response a{};
      a.struct_size = sizeof a;
      a.status = OEMLINK_OK;
      a.http_status = 200;
      a.body = {body.data(), body.size()};
      try {
        done(ctx, &a);
        ++fake().http_answered;
      } catch (...) {
        ++fake().http_threw;
      }
    }).detach();
    return oemlink_status{OEMLINK_OK};
  };
  h.secret_get = [](const oemlink_host*, oemlink_conn*, oemlink_str, char*, size_t, size_t* size) {
    if (size) *size = 0;
    return oemlink_status{OEMLINK_ERROR};
  };
  h.secret_put = [](const oemlink_host*, oemlink_conn*, const oemlink_str*, const oemlink_str*,
                    size_t) { return oemlink_status{OEMLINK_ERROR}; };
  h.timer_start = [](const oemlink_host*, uint32_t delay, oemlink_timer_fn fn, void* ctx) {
    if (fake().refuse_timers) return uint64_t{0};
    std::thread([delay, fn, ctx] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      fn(ctx, 0);
    }).detach();
    return fake().next_timer.fetch_add(1);
  };
  h.timer_cancel = [](const oemlink_host*, uint64_t) {};
  h.counter_add = [](const oemlink_host*, oemlink_str, uint64_t) {};
  h.now_unix_ms = [](const oemlink_host*) { return int64_t{1'700'000'000'000}; };
  return h;
}

// A host table that lives for the process, reachable from a global (not a leak to LSan).
const oemlink_host& kept_host() {
  static auto* all = new std::vector<oemlink_host*>();
  all->push_back(new oemlink_host(make_host()));
  return *all->back();
}

oemlink_status OEMLINK_CALL no_poll(oemlink_instance*, oemlink_conn*, void*, oemlink_poll_done_fn,
                                    void*) {
  return OEMLINK_ERROR;
}

class RemoteInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    real_.struct_size = sizeof real_;
    real_.abi_major = OEMLINK_ABI_MAJOR;
    real_.abi_minor = OEMLINK_ABI_MINOR;
    real_.name = "fake";
    real_.version = "0";
    real_.poll = no_poll;
    log_ = fs::temp_directory_path() /
           ("remote-instance-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    fs::remove(log_);
  }
  void TearDown() override {
    if (inst_) remote_descriptor(&real_)->destroy(inst_);
    fs::remove(log_);
  }

  // Starts the fake process in `mode`; what create_remote_instance returned.
  oemlink_status create(const std::string& mode) {
    RemoteDriverOptions o;
    o.name = mode;
    o.library = log_;  // the fake writes what it was sent here
    o.program = OEMLINK_FAKE_DRIVER_PROCESS;
    o.call_timeout = 2000ms;
    o.first_restart_delay = 10ms;
    o.max_restart_delay = 40ms;
    err_[0] = '\0';
    return create_remote_instance(o, &host_, {"{}", 2}, &inst_, err_, sizeof err_);
  }
  oemlink_status open(oemlink_conn* conn) {
    oemlink_conn_info info{};
    info.struct_size = sizeof info;
    info.id = {"car-1", 5};
    void* ctx = nullptr;
    return remote_descriptor(&real_)->open(inst_, conn, &info, &ctx, err_, sizeof err_);
  }
  // Process id → the kinds of frame it was sent, in order.
  std::map<int, std::string> seen() {
    std::map<int, std::string> out;
    std::ifstream in(log_);
    int pid = 0, kind = 0;
    while (in >> pid >> kind) out[pid] += std::to_string(kind) + " ";
    return out;
  }
  template <class F>
  bool eventually(F f, std::chrono::milliseconds limit = 10s) {
    for (auto end = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < end; std::this_thread::sleep_for(10ms))
      if (f()) return true;
    return f();
  }

  oemlink_driver real_{};
  // Never freed: a restart the fake's timer threads run may outlive the test.
  const oemlink_host& host_ = kept_host();
  oemlink_instance* inst_ = nullptr;
  char err_[512] = {};
  fs::path log_;
};

TEST_F(RemoteInstanceTest, AMalformedAnswerToCreateIsAFailedCreateNotAThrow) {
  oemlink_status st = OEMLINK_OK;
  EXPECT_NO_THROW(st = create("short-create"));
  EXPECT_EQ(st, OEMLINK_ERROR);
  EXPECT_NE(std::string(err_).find("answered create with a malformed frame"), std::string::npos)
      << err_;
  inst_ = nullptr;
}

TEST_F(RemoteInstanceTest, AMalformedAnswerToOpenEndsOnlyTheProcessWhichIsStartedAgain) {
  ASSERT_EQ(create("short-open"), OEMLINK_OK) << err_;
  const long first = remote_instance_pid(inst_);
  auto* conn = reinterpret_cast<oemlink_conn*>(uintptr_t{0x1000});
  oemlink_status st = OEMLINK_ERROR;
  EXPECT_NO_THROW(st = open(conn));
  EXPECT_EQ(st, OEMLINK_OK) << "lost with its process: the next one opens it";
  // The process was ended and a new one started, which is asked to open the car again.
  EXPECT_TRUE(eventually([&] {
    long now = remote_instance_pid(inst_);
    return now > 0 && now != first;
  }));
  EXPECT_TRUE(eventually([&] {
    size_t opened = 0;
    for (const auto& [pid, kinds] : seen()) opened += kinds.find("12 ") != std::string::npos;
    return opened >= 2;
  }));
}

TEST_F(RemoteInstanceTest, AConnectionWhoseProcessDiedRightAfterOpeningItIsOpenedInTheNextOne) {
  // Every process of this mode answers open and dies at once: its loss races the host marking
  // the car open. Each next process must be asked to open the car again, and so dies too.
  ASSERT_EQ(create("exit-after-open"), OEMLINK_OK) << err_;
  auto* conn = reinterpret_cast<oemlink_conn*>(uintptr_t{0x2000});
  ASSERT_EQ(open(conn), OEMLINK_OK) << err_;
  auto opened_in = [&] {
    size_t n = 0;
    for (const auto& [pid, kinds] : seen()) n += kinds.find("12 ") != std::string::npos ? 1 : 0;
    return n;
  };
  EXPECT_TRUE(eventually([&] { return opened_in() >= 8; }))
      << opened_in() << " processes opened the car; the last one was never asked to";
}

TEST_F(RemoteInstanceTest, AnHttpAnswerTooLargeForAFrameFailsTheRequestInsteadOfThrowing) {
  fake().http_body_size = (64u << 20) - 8;  // within the host client's limit, not a frame's
  ASSERT_EQ(create("big-http"), OEMLINK_OK) << err_;
  EXPECT_TRUE(eventually([&] { return fake().http_answered + fake().http_threw > 0; }));
  EXPECT_EQ(fake().http_threw.load(), 0);
  // The process heard that its request failed (kHttpDone).
  EXPECT_TRUE(eventually([&] {
    auto s = seen();
    return !s.empty() && s.begin()->second.find("21 ") != std::string::npos;
  }));
  fake().http_body_size = 0;
}

TEST_F(RemoteInstanceTest, AnInstanceDestroyedWhileItsLostProcessIsReapedIsFreedSafely) {
  // The process's channel ends 50 ms after create and the process 500 ms later: its loss is
  // being handled (the reap waits) on the channel's reader thread when the host destroys the
  // instance and, letting the driver go, refuses the restart's timer. That thread then holds the
  // last reference: what it frees must not be what it is still running in (ASan: use after
  // free in the channel's reader).
  ASSERT_EQ(create("linger"), OEMLINK_OK) << err_;
  std::this_thread::sleep_for(150ms);
  fake().refuse_timers = true;
  remote_descriptor(&real_)->destroy(inst_);
  inst_ = nullptr;
  std::this_thread::sleep_for(1000ms);  // the reap ends, the reader finishes and lets go
  fake().refuse_timers = false;
}

}  // namespace
