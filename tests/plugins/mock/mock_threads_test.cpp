// The mock's stream under a host whose timers fire on another thread and whose cancellation is
// asynchronous, as the real host's are: stop and close race with firing timers. Run under ASan
// this catches a tick touching a closed connection; the counters catch `ended` after stop.
#include "tests/plugins/mock/mock_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace oemlink::test {
namespace {

using Clock = std::chrono::steady_clock;

class ThreadedTimerHost {
 public:
  ThreadedTimerHost() {
    table_ = *fallback_.table();
    table_.host_data = this;
    table_.emit = [](const oemlink_host* h, oemlink_conn*, const oemlink_reading*,
                     size_t) -> oemlink_status {
      self(h).emits.fetch_add(1);
      return OEMLINK_OK;
    };
    table_.now_unix_ms = [](const oemlink_host*) -> int64_t {
      return 1'700'000'000'000 +
             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
                 .count();
    };
    table_.timer_start = [](const oemlink_host* h, uint32_t delay_ms, oemlink_timer_fn fn,
                            void* ctx) -> uint64_t { return self(h).start(delay_ms, fn, ctx); };
    table_.timer_cancel = [](const oemlink_host* h, uint64_t id) { self(h).cancel(id); };
    worker_ = std::thread([this] { run(); });
  }
  ~ThreadedTimerHost() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  const oemlink_host* table() const { return &table_; }
  std::atomic<int> emits{0};

 private:
  struct Timer {
    Clock::time_point due;
    oemlink_timer_fn fn;
    void* ctx;
    bool cancelled;
  };
  static ThreadedTimerHost& self(const oemlink_host* h) {
    return *static_cast<ThreadedTimerHost*>(h->host_data);
  }
  uint64_t start(uint32_t delay_ms, oemlink_timer_fn fn, void* ctx) {
    std::lock_guard lock(mutex_);
    uint64_t id = next_id_++;
    timers_[id] = {Clock::now() + std::chrono::milliseconds(delay_ms), fn, ctx, false};
    wake_.notify_all();
    return id;
  }
  // Asynchronous, like a real event loop: the callback runs later on the worker.
  void cancel(uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    it->second.cancelled = true;
    it->second.due = Clock::now();
    wake_.notify_all();
  }
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (next == timers_.end() || it->second.due < next->second.due) next = it;
      }
      if (next == timers_.end()) {
        if (stopping_) return;
        wake_.wait(lock);
        continue;
      }
      if (!stopping_ && next->second.due > Clock::now()) {
        wake_.wait_until(lock, next->second.due);
        continue;
      }
      Timer t = next->second;
      timers_.erase(next);
      lock.unlock();
      t.fn(t.ctx, (t.cancelled || stopping_) ? 1 : 0);
      lock.lock();
    }
  }

  FakeHost fallback_;  // the services this test does not exercise
  oemlink_host table_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<uint64_t, Timer> timers_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread worker_;
};

struct EndedProbe {
  std::atomic<bool> stopped{false};
  std::atomic<int> calls_after_stop{0};
  static void OEMLINK_CALL record(void* self, oemlink_status, oemlink_str) {
    auto* p = static_cast<EndedProbe*>(self);
    if (p->stopped.load()) p->calls_after_stop.fetch_add(1);
  }
};

TEST(MockThreads, StopAndCloseRaceWithTimersOnAnotherThread) {
  const oemlink_driver* d = mock_descriptor();
  ASSERT_NE(d, nullptr);
  ThreadedTimerHost host;
  oemlink_instance* inst = nullptr;
  char err[128] = "";
  const std::string settings = R"({"stream_interval": 1, "error_rate": 0.2})";
  ASSERT_EQ(d->create(host.table(), {settings.data(), settings.size()}, &inst, err, sizeof err),
            OEMLINK_OK)
      << err;
  std::deque<EndedProbe> probes;
  for (int i = 0; i < 300; ++i) {
    auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + i));
    const std::string id = "car-" + std::to_string(i);
    oemlink_conn_info info{};
    info.struct_size = sizeof info;
    info.id = {id.data(), id.size()};
    void* ctx = nullptr;
    ASSERT_EQ(d->open(inst, handle, &info, &ctx, err, sizeof err), OEMLINK_OK);
    EndedProbe& probe = probes.emplace_back();
    ASSERT_EQ(d->stream_start(inst, handle, ctx, &EndedProbe::record, &probe), OEMLINK_OK);
    std::this_thread::sleep_for(std::chrono::microseconds(i % 7 * 400));
    d->stream_stop(inst, handle, ctx);
    probe.stopped = true;
    d->close(inst, handle, ctx);
  }
  d->destroy(inst);
  int violations = 0;
  for (const EndedProbe& p : probes) violations += p.calls_after_stop.load();
  EXPECT_EQ(violations, 0) << "`ended` ran after stream_stop returned";
  EXPECT_GT(host.emits.load(), 0);
}

}  // namespace
}  // namespace oemlink::test
