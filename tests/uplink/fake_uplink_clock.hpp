// An UplinkClock the test moves by hand: unix_ms() is whatever the test set, and back-off timers
// fire only inside advance(), on the calling (loop) thread, in due order.
#pragma once

#include "core/uplink/uplink_clock.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace oemlink::uplink::testing {

class FakeUplinkClock final : public UplinkClock {
 public:
  explicit FakeUplinkClock(int64_t start_ms = 1'741'089'660'000) : now_(start_ms) {}

  int64_t unix_ms() const override { return now_.load(); }
  // Moves with unix_ms (advance() moves both); set_unix_ms is a wall-clock step and leaves it.
  int64_t steady_ms() const override { return steady_.load(); }
  void set_unix_ms(int64_t ms) { now_ = ms; }

  std::unique_ptr<BackoffTimer> make_timer() override {
    auto t = std::make_unique<Timer>(*this);
    timers_.push_back(t.get());
    return t;
  }

  // Moves time forward, firing every timer that comes due on the way.
  void advance(std::chrono::milliseconds by) {
    int64_t until = now_.load() + by.count();
    for (;;) {
      Timer* next = nullptr;
      for (Timer* t : timers_)
        if (t->armed && t->due <= until && (!next || t->due < next->due)) next = t;
      if (!next) break;
      move_to(std::max(now_.load(), next->due));
      next->armed = false;
      auto fire = std::move(next->fire);
      fire();  // may re-arm timers or make new ones
    }
    move_to(until);
  }

  // Every delay a timer was started with, in order.
  const std::vector<std::chrono::milliseconds>& delays() const { return delays_; }
  size_t armed() const {
    return std::count_if(timers_.begin(), timers_.end(), [](Timer* t) { return t->armed; });
  }

 private:
  void move_to(int64_t unix) {
    steady_ += unix - now_.load();
    now_ = unix;
  }

  struct Timer final : BackoffTimer {
    explicit Timer(FakeUplinkClock& c) : clock(c) {}
    ~Timer() override { std::erase(clock.timers_, this); }
    void start(std::chrono::milliseconds delay, std::function<void()> f) override {
      clock.delays_.push_back(delay);
      due = clock.now_.load() + delay.count();
      fire = std::move(f);
      armed = true;
    }
    void cancel() override { armed = false; }
    FakeUplinkClock& clock;
    int64_t due = 0;
    bool armed = false;
    std::function<void()> fire;
  };

  std::atomic<int64_t> now_;
  std::atomic<int64_t> steady_{5'000'000};
  std::vector<Timer*> timers_;
  std::vector<std::chrono::milliseconds> delays_;
};

}  // namespace oemlink::uplink::testing
