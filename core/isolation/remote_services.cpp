// What a driver in its own process asks of the host: each frame is checked (a connection must be
// one the host opened on this instance, a timer or subscription one this process started) and
// handed to the host table the instance was created with, exactly as an in-process driver's
// call would be. A completion (poll done, stream ended, webhook answer, link result) is matched
// with what the host is owed and delivered once.
#include "core/isolation/abi_codec.hpp"
#include "core/isolation/child_process.hpp"
#include "core/isolation/message_kind.hpp"
#include "core/isolation/remote_instance.hpp"

#include "core/common/secure_wipe.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace oemlink::isolation {
namespace {

oemlink_conn* handle(uint64_t c) {
  return reinterpret_cast<oemlink_conn*>(c);
}

struct CallbackCtx {
  std::shared_ptr<RemoteInstance> state;
  uint64_t generation;
  uint64_t token;
  uint64_t host_id = 0;  // timers: the host's id, to forget it when it fires
};

void OEMLINK_CALL http_answered(void* ctx, const oemlink_http_response* a) {
  std::unique_ptr<CallbackCtx> c(static_cast<CallbackCtx*>(ctx));
  FrameWriter w(kHttpDone, 0);
  w.u64(c->token);
  try {
    put_http_response(w, *a);
    w.finish(0);  // throws here, not in send, when the answer is larger than a frame may be
  } catch (const FrameError&) {
    // The host's client takes bodies up to its own limit, which a frame's may not cover: the
    // driver is told its request failed rather than the host's loop being thrown out of.
    static constexpr std::string_view kTooLarge =
        "the response is larger than a driver's process can be sent";
    oemlink_http_response failed{};
    failed.struct_size = sizeof failed;
    failed.status = OEMLINK_ERROR;
    failed.http_status = a->http_status;
    failed.error = {kTooLarge.data(), kTooLarge.size()};
    FrameWriter small(kHttpDone, 0);
    small.u64(c->token);
    put_http_response(small, failed);
    c->state->send_to(c->generation, small);
    return;
  }
  c->state->send_to(c->generation, w);
}

void OEMLINK_CALL timer_fired(void* ctx, int32_t cancelled) {
  std::unique_ptr<CallbackCtx> c(static_cast<CallbackCtx*>(ctx));
  c->state->forget_timer(c->host_id);
  FrameWriter w(kTimerFired, 0);
  w.u64(c->token).i32(cancelled);
  c->state->send_to(c->generation, w);
}

void OEMLINK_CALL mqtt_message(void* ctx, oemlink_str topic, oemlink_str payload) {
  auto* c = static_cast<CallbackCtx*>(ctx);
  FrameWriter w(kMqttMessage, 0);
  try {
    w.u64(c->token).str(topic).str(payload);
    w.finish(0);
  } catch (const FrameError&) {
    spdlog::warn(
        "driver {}: an MQTT message of {} bytes is larger than its process can be sent; "
        "dropped",
        c->state->options().name, payload.size);
    return;
  }
  c->state->send_to(c->generation, w);
}

void OEMLINK_CALL mqtt_status(void* ctx, int32_t connected, oemlink_str message) {
  auto* c = static_cast<CallbackCtx*>(ctx);
  FrameWriter w(kMqttStatus, 0);
  w.u64(c->token).i32(connected).str(message);
  c->state->send_to(c->generation, w);
}

}  // namespace

void RemoteInstance::send_to(uint64_t generation, FrameWriter& w) {
  std::shared_ptr<ChildRun> run = current();
  if (run && run->generation == generation) run->channel->send(w);
}

bool RemoteInstance::known_conn(uint64_t conn) const {
  std::lock_guard lk(mu_);
  return conns_.contains(conn);
}

void RemoteInstance::forget_timer(uint64_t id) {
  std::lock_guard lk(mu_);
  timers_.erase(id);
}

void RemoteInstance::on_child_frame(const std::shared_ptr<ChildRun>& run, FrameReader& r) {
  const FrameHeader& h = r.header();
  const oemlink_host* host = host_;
  auto reply = [&](FrameWriter& w) { run->channel->send(w); };
  // A connection the host never opened here is refused: a driver's process speaks only for its
  // own cars. 0 is "no connection" where the ABI allows NULL.
  auto checked = [&](uint64_t conn, bool may_be_null) -> bool {
    if (conn == 0) return may_be_null;
    if (known_conn(conn)) return true;
    spdlog::warn("driver {}: its process named a connection it does not have; refused", opts_.name);
    return false;
  };
  switch (h.kind) {
    case kLog: {
      uint64_t conn = r.u64();
      int32_t level = std::clamp<int32_t>(r.i32(), OEMLINK_LOG_TRACE, OEMLINK_LOG_ERROR);
      oemlink_str msg = r.view();
      r.done();
      if (checked(conn, true)) host->log(host, handle(conn), level, msg);
      return;
    }
    case kEmit: {
      uint64_t conn = r.u64();
      std::vector<oemlink_reading> readings = get_readings(r);
      r.done();
      oemlink_status st = checked(conn, false)
                              ? host->emit(host, handle(conn), readings.data(), readings.size())
                              : OEMLINK_ERROR;
      FrameWriter w(kReply, h.call_id);
      w.i32(st);
      return reply(w);
    }
    case kReportState: {
      uint64_t conn = r.u64();
      int32_t state = r.i32();
      int64_t until = r.i64();
      oemlink_str reason = r.view();
      r.done();
      if (checked(conn, false)) host->report_state(host, handle(conn), state, until, reason);
      return;
    }
    case kHttpRequest: {
      uint64_t conn = r.u64();
      DecodedHttpRequest q;
      get_http_request(r, q);
      uint64_t token = r.u64();
      r.done();
      oemlink_status st = OEMLINK_ERROR;
      if (checked(conn, true)) {
        auto* ctx = new CallbackCtx{shared_from_this(), run->generation, token};
        st = host->http_request(host, handle(conn), &q.request, &http_answered, ctx);
        if (st != OEMLINK_OK) delete ctx;
      }
      FrameWriter w(kReply, h.call_id);
      w.i32(st);
      return reply(w);
    }
    case kSecretGet: {
      uint64_t conn = r.u64();
      oemlink_str key = r.view();
      r.done();
      std::string value(1024, '\0');
      size_t size = 0;
      oemlink_status st = OEMLINK_ERROR;
      if (checked(conn, false)) {
        for (int tries = 0; tries < 4; ++tries) {
          st = host->secret_get(host, handle(conn), key, value.data(), value.size(), &size);
          if (st != OEMLINK_RETRY) break;
          oemlink::secure_wipe(value.data(), value.size());
          value.assign(size, '\0');
        }
      }
      FrameWriter w(kReply, h.call_id);
      w.i32(st).str(st == OEMLINK_OK ? std::string_view(value.data(), std::min(size, value.size()))
                                     : std::string_view());
      oemlink::secure_wipe(value.data(), value.size());
      reply(w);
      w.wipe();
      return;
    }
    case kSecretPut: {
      uint64_t conn = r.u64();
      DecodedPairs p = get_pairs(r);
      r.done();
      oemlink_status st = checked(conn, false) ? host->secret_put(host, handle(conn), p.keys.data(),
                                                                  p.values.data(), p.keys.size())
                                               : OEMLINK_ERROR;
      FrameWriter w(kReply, h.call_id);
      w.i32(st);
      return reply(w);
    }
    case kTimerStart: {
      uint32_t delay = r.u32();
      uint64_t token = r.u64();
      r.done();
      auto* ctx = new CallbackCtx{shared_from_this(), run->generation, token};
      uint64_t id;
      {
        // Recorded before it can fire, so that its firing finds it to forget.
        std::lock_guard lk(mu_);
        id = host->timer_start(host, delay, &timer_fired, ctx);
        if (id != 0) {
          timers_[id] = ctx;
          ctx->host_id = id;
        }
      }
      if (id == 0) delete ctx;
      FrameWriter w(kReply, h.call_id);
      w.u64(id);
      return reply(w);
    }
    case kTimerCancel: {
      uint64_t id = r.u64();
      r.done();
      bool ours;
      {
        std::lock_guard lk(mu_);
        ours = timers_.contains(id);
      }
      if (ours) host->timer_cancel(host, id);
      return;
    }
    case kCounterAdd: {
      oemlink_str name = r.view();
      uint64_t delta = r.u64();
      r.done();
      host->counter_add(host, name, delta);
      return;
    }
    case kMqttSubscribe: {
      DecodedMqttSubscription s;
      get_mqtt_subscription(r, s);
      uint64_t token = r.u64();
      r.done();
      uint64_t id = 0;
      if (mqtt_) {
        auto* ctx = new CallbackCtx{shared_from_this(), run->generation, token};
        id = mqtt_->subscribe(host, &s.sub, &mqtt_message, &mqtt_status, ctx);
        if (id == 0) {
          delete ctx;
        } else {
          std::lock_guard lk(mu_);
          subs_[id] = ctx;
        }
      }
      FrameWriter w(kReply, h.call_id);
      w.u64(id);
      return reply(w);
    }
    case kMqttUnsubscribe: {
      uint64_t id = r.u64();
      r.done();
      void* ctx = nullptr;
      {
        std::lock_guard lk(mu_);
        if (auto it = subs_.find(id); it != subs_.end()) {
          ctx = it->second;
          subs_.erase(it);
        }
      }
      if (ctx) {
        mqtt_->unsubscribe(host, id);  // no callback runs after this returns
        delete static_cast<CallbackCtx*>(ctx);
      }
      FrameWriter w(kReply, h.call_id);
      return reply(w);
    }
    case kPollDone:
    case kStreamEnded: {
      uint64_t token = r.u64();
      oemlink_status st = r.i32();
      oemlink_str msg = r.view();
      r.done();
      auto c = take(h.kind == kPollDone ? polls_ : streams_, token);
      if (!c) return;  // not owed (stopped, or already failed with the process)
      if (h.kind == kPollDone)
        reinterpret_cast<oemlink_poll_done_fn>(c->fn)(c->ctx, st, msg);
      else
        reinterpret_cast<oemlink_stream_ended_fn>(c->fn)(c->ctx, st, msg);
      return;
    }
    case kWebhookRespond: {
      uint64_t token = r.u64();
      DecodedHttpResponse a;
      get_http_response(r, a);
      r.done();
      if (auto c = take(webhooks_, token))
        reinterpret_cast<oemlink_webhook_respond_fn>(c->fn)(c->ctx, &a.response);
      return;
    }
    case kLinkExchanged: {
      uint64_t token = r.u64();
      oemlink_status st = r.i32();
      DecodedPairs p = get_pairs(r);
      oemlink_str msg = r.view();
      r.done();
      if (auto c = take(exchanges_, token))
        reinterpret_cast<oemlink_link_exchanged_fn>(c->fn)(c->ctx, st, p.keys.data(),
                                                           p.values.data(), p.keys.size(), msg);
      return;
    }
    case kLinkVehicles: {
      uint64_t token = r.u64();
      oemlink_status st = r.i32();
      std::vector<oemlink_link_vehicle> v = get_link_vehicles(r);
      oemlink_str msg = r.view();
      r.done();
      if (auto c = take(lists_, token))
        reinterpret_cast<oemlink_link_vehicles_fn>(c->fn)(c->ctx, st, v.data(), v.size(), msg);
      return;
    }
    default:
      throw FrameError("unknown message kind " + std::to_string(h.kind));
  }
}

void RemoteInstance::fail_everything_owed(const std::string& how) {
  std::unordered_map<uint64_t, Completion> polls, streams, webhooks, exchanges, lists;
  {
    std::lock_guard lk(mu_);
    polls.swap(polls_);
    streams.swap(streams_);
    webhooks.swap(webhooks_);
    exchanges.swap(exchanges_);
    lists.swap(lists_);
  }
  oemlink_str msg{how.data(), how.size()};
  for (auto& [t, c] : polls)
    reinterpret_cast<oemlink_poll_done_fn>(c.fn)(c.ctx, OEMLINK_RETRY, msg);
  for (auto& [t, c] : streams)
    reinterpret_cast<oemlink_stream_ended_fn>(c.fn)(c.ctx, OEMLINK_RETRY, msg);
  for (auto& [t, c] : webhooks)
    answer_unavailable(reinterpret_cast<oemlink_webhook_respond_fn>(c.fn), c.ctx);
  for (auto& [t, c] : exchanges)
    reinterpret_cast<oemlink_link_exchanged_fn>(c.fn)(c.ctx, OEMLINK_RETRY, nullptr, nullptr, 0,
                                                      msg);
  for (auto& [t, c] : lists)
    reinterpret_cast<oemlink_link_vehicles_fn>(c.fn)(c.ctx, OEMLINK_RETRY, nullptr, 0, msg);
}

void RemoteInstance::on_child_lost(const std::shared_ptr<ChildRun>& run, const std::string& why) {
  std::unordered_map<uint64_t, void*> subs, timers;
  bool deliberate;
  size_t in_flight;
  std::chrono::milliseconds delay;
  {
    std::lock_guard lk(mu_);
    if (child_ != run) return;  // an earlier run, already handled
    child_ = nullptr;
    ended_.push_back(run);
    deliberate = destroying_ || !live_;
    for (auto& [id, c] : conns_) c.open_in_child = false;
    subs.swap(subs_);
    timers.swap(timers_);
    in_flight = polls_.size();
    bool lived_long = std::chrono::steady_clock::now() - run->started > opts_.max_restart_delay;
    if (lived_long) next_delay_ = opts_.first_restart_delay;
    delay = next_delay_;
    next_delay_ = std::min(next_delay_ * 2, opts_.max_restart_delay);
    if (!deliberate) restart_pending_ = true;
  }
  if (deliberate) return;  // destroy() or a failed create reaps it
  std::string how = "process (pid " + std::to_string(run->pid) + ") " +
                    reap(*run, std::chrono::milliseconds(2000));
  spdlog::error("driver {}: its {} ({}); polls in flight retried: {}; restarting it in {} ms",
                opts_.name, how, why, in_flight, delay.count());
  host_->counter_add(host_, {"process_exits", 13}, 1);
  fail_everything_owed("the driver's " + how);
  for (auto& [id, ctx] : subs) {
    mqtt_->unsubscribe(host_, id);
    delete static_cast<CallbackCtx*>(ctx);
  }
  // Their firing (cancelled) finds no current run and is dropped; each frees its own context.
  for (auto& [id, ctx] : timers) host_->timer_cancel(host_, id);
  schedule_restart(delay);
}

}  // namespace oemlink::isolation
