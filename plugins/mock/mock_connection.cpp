#include "mock_connection.hpp"

#include "prng.hpp"

#include <mutex>
#include <thread>
#include <utility>

namespace oemlink::mock {

// One started stream. Host timers are one-shot and may fire (or report cancellation) on any
// thread after stream_stop() has returned, so the timer's context cannot be the connection:
// it is this ticket, shared by the connection and the one outstanding timer, freed by whichever
// lets go last. `conn` is cleared under the mutex when the connection detaches, so a late tick
// never touches a closed connection. Recursive because the host may call stream_stop() from
// inside `ended`.
struct StreamTicket {
  std::recursive_mutex mutex;
  MockConnection* conn;
  StreamEnded ended;
  uint64_t timer_id = 0;
  std::atomic<int> refs{2};

  StreamTicket(MockConnection* c, StreamEnded e) : conn(c), ended(std::move(e)) {}
  void unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {
// Per-connection state must stay small enough for a million cars in one process.
static_assert(sizeof(MockConnection) <= 160);
}  // namespace

void MockConnection::SpinLock::lock() {
  while (flag_.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
}

MockConnection::~MockConnection() {
  detach_stream();
  if (instance_->settings.webhook) instance_->directory.remove(conn_);
}

void MockConnection::poll(PollDone done) {
  ++polls_;
  const uint32_t latency_ms = instance_->settings.latency_ms;
  if (latency_ms == 0) {
    finish_poll(std::move(done));
    return;
  }
  // The host does not close a connection with a poll in flight, so `this` outlives the timer.
  latency_done_ = std::move(done);
  const oemlink_host* h = instance_->host.raw();
  if (h->timer_start(h, latency_ms, &MockConnection::on_latency_elapsed, this) == 0) {
    std::exchange(latency_done_, PollDone{}).retry("mock: host timer unavailable");
  }
}

void OEMLINK_CALL MockConnection::on_latency_elapsed(void* self, int32_t cancelled) {
  auto* c = static_cast<MockConnection*>(self);
  PollDone done = std::exchange(c->latency_done_, PollDone{});
  if (cancelled) {
    done.retry("mock: poll cancelled");
    return;
  }
  c->finish_poll(std::move(done));
}

void MockConnection::finish_poll(PollDone done) {
  const MockSettings& s = instance_->settings;
  if (s.reauth_after_polls != 0 && polls_ > s.reauth_after_polls) {
    report(OEMLINK_STATE_NEEDS_REAUTH, 0, "mock: refresh token revoked");
    done.error("mock: needs re-authorisation");
    return;
  }
  // One draw per poll against stacked probabilities: rates that sum past 1 favour the earlier.
  const double u = unit(draw(car_seed_, Salt::kPollFault, polls_));
  double edge = s.asleep_rate;
  if (u < edge) {
    report(OEMLINK_STATE_ASLEEP, 0, "mock: vehicle asleep");
    done.ok();
    return;
  }
  if (u < (edge += s.rate_limited_rate)) {
    const int64_t until = instance_->host.now_ms() + s.rate_limit_retry_after_ms;
    report(OEMLINK_STATE_RATE_LIMITED, until, instance_->rate_limited_reason);
    done.retry(instance_->rate_limited_reason);
    return;
  }
  if (u < (edge += s.error_rate)) {
    done.error("mock: injected error");
    return;
  }
  if (u < (edge += s.retry_rate)) {
    done.retry("mock: injected 503");
    return;
  }
  if (deliver_batch() == OEMLINK_RETRY) {
    done.retry("host back-pressure");
    return;
  }
  if (reported_state_ != OEMLINK_STATE_OK) report(OEMLINK_STATE_OK, 0, "mock: vehicle online");
  done.ok();
}

oemlink_status MockConnection::deliver_batch() {
  oemlink_reading batch[kSignalCount];
  std::lock_guard guard(car_lock_);
  // A refused batch is offered again unchanged, with its original timestamps, before the car
  // moves on: back-pressure delays data but never loses it.
  if (!batch_refused_) advance(car_, car_seed_, instance_->host.now_ms());
  const size_t n = fill_readings(car_, car_seed_, instance_->settings.signal_mask, batch);
  const oemlink_status st = instance_->host.emit(conn_, {batch, n});
  batch_refused_ = st == OEMLINK_RETRY;
  return st;
}

void MockConnection::report(oemlink_conn_state state, int64_t until_ms, std::string_view reason) {
  reported_state_ = state;
  instance_->host.report_state(conn_, state, until_ms, reason);
}

void MockConnection::stream_start(StreamEnded ended) {
  detach_stream();  // a restart after `ended` replaces the old stream
  auto* ticket = new StreamTicket(this, std::move(ended));
  stream_ = ticket;
  std::lock_guard guard(ticket->mutex);
  const oemlink_host* h = instance_->host.raw();
  ticket->timer_id = h->timer_start(h, instance_->settings.stream_interval_ms,
                                    &MockConnection::on_stream_tick, ticket);
  if (ticket->timer_id == 0) {
    ticket->refs.fetch_sub(1);  // no timer holds it; the connection's reference remains
    std::exchange(ticket->ended, StreamEnded{})(OEMLINK_RETRY, "mock: host timer unavailable");
  }
}

void OEMLINK_CALL MockConnection::on_stream_tick(void* ctx, int32_t cancelled) {
  auto* ticket = static_cast<StreamTicket*>(ctx);
  bool rearmed = false;
  {
    std::lock_guard guard(ticket->mutex);
    MockConnection* c = ticket->conn;
    ticket->timer_id = 0;
    if (!cancelled && c) {
      const MockSettings& s = c->instance_->settings;
      ++c->stream_batches_;
      if (unit(draw(c->car_seed_, Salt::kStreamFault, c->stream_batches_)) < s.error_rate) {
        std::exchange(ticket->ended, StreamEnded{})(OEMLINK_RETRY, "mock: stream dropped");
      } else {
        // Back-pressure needs no handling here: the refused batch goes out on the next tick.
        c->deliver_batch();
        const oemlink_host* h = c->instance_->host.raw();
        ticket->timer_id =
            h->timer_start(h, s.stream_interval_ms, &MockConnection::on_stream_tick, ticket);
        rearmed = ticket->timer_id != 0;
        if (!rearmed) {
          std::exchange(ticket->ended, StreamEnded{})(OEMLINK_RETRY,
                                                      "mock: host timer unavailable");
        }
      }
    }
  }
  if (!rearmed) ticket->unref();
}

void MockConnection::stream_stop() {
  detach_stream();
}

void MockConnection::detach_stream() {
  StreamTicket* ticket = std::exchange(stream_, nullptr);
  if (!ticket) return;
  uint64_t timer_id;
  {
    std::lock_guard guard(ticket->mutex);
    ticket->conn = nullptr;
    ticket->ended.release();  // after stream_stop the host expects no `ended`
    timer_id = ticket->timer_id;
  }
  // Outside the lock: the host may report the cancellation synchronously.
  if (timer_id != 0) instance_->host.cancel_timer(timer_id);
  ticket->unref();
}

}  // namespace oemlink::mock
