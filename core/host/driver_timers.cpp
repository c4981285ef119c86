#include "core/host/driver_timers.hpp"

#include "core/host/driver_call_frame.hpp"
#include "core/host/driver_set.hpp"

#include <boost/asio/post.hpp>

namespace oemlink::host {

void DriverTimers::fire(oemlink_timer_fn fn, void* ctx, int32_t cancelled, DriverInstance* owner) {
  if (!owner) {
    fn(ctx, cancelled);
    return;
  }
  {
    DriverCallFrame in_call(*owner, "timer");
    fn(ctx, cancelled);
  }
  owner->callbacks_pending.fetch_sub(1);
}

uint64_t DriverTimers::start(uint32_t delay_ms, oemlink_timer_fn fn, void* ctx,
                             DriverInstance* owner) {
  if (!fn || closed_) return 0;
  uint64_t id = next_id_.fetch_add(1);
  if (owner) owner->callbacks_pending.fetch_add(1);
  auto arm = [this, id, delay_ms, fn, ctx, owner] {
    if (closed_) {  // closed between the request and this hop: fire as cancelled
      fire(fn, ctx, 1, owner);
      return;
    }
    auto t = std::make_unique<Timer>(io_);
    t->fn = fn;
    t->ctx = ctx;
    t->owner = owner;
    t->timer.expires_after(std::chrono::milliseconds(delay_ms));
    t->timer.async_wait([this, id](const boost::system::error_code& ec) {
      auto it = timers_.find(id);
      if (it == timers_.end()) return;
      auto timer = std::move(it->second);
      timers_.erase(it);
      fire(timer->fn, timer->ctx, ec ? 1 : 0, timer->owner);
    });
    timers_.emplace(id, std::move(t));
  };
  if (on_loop())
    arm();
  else
    boost::asio::post(io_, arm);
  return id;
}

void DriverTimers::cancel(uint64_t id) {
  auto cancel = [this, id] {
    auto it = timers_.find(id);
    if (it != timers_.end()) it->second->timer.cancel();
  };
  if (on_loop())
    cancel();
  else
    boost::asio::post(io_, cancel);
}

void DriverTimers::cancel_owned(const DriverInstance* owner) {
  for (auto& [id, t] : timers_)
    if (t->owner == owner) t->timer.cancel();
}

void DriverTimers::drain() {
  closed_ = true;
  for (auto& [id, t] : timers_) t->timer.cancel();
  for (int i = 0; i < 100 && !timers_.empty(); ++i) {
    io_.restart();
    io_.poll();
  }
  io_.restart();
  io_.poll();
}

}  // namespace oemlink::host
