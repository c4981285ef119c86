#include "smartcar_connection.hpp"

#include "error_classifier.hpp"
#include "json_fields.hpp"
#include "reauth_link.hpp"
#include "signal_mapper.hpp"
#include "signals_client.hpp"
#include "v2_responses.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <vector>

namespace oemlink::smartcar {
namespace {

// One poll, from token check to the emit. Owned by its own pending callbacks.
class PollRound : public std::enable_shared_from_this<PollRound> {
 public:
  PollRound(std::shared_ptr<CarState> car, PollDone done)
      : car_(std::move(car)), ctx_(*car_->ctx), done_(std::move(done)) {}

  void start() {
    const int64_t now = ctx_.host.now_ms();
    if (!car_->failed_reason.empty()) {
      car_->report(OEMLINK_STATE_FAILED, 0, car_->failed_reason);
      return done_.error(car_->failed_reason);
    }
    if (now < car_->not_before_ms) {
      car_->report(OEMLINK_STATE_RATE_LIMITED, car_->not_before_ms,
                   "smartcar: vehicle rate limit (Retry-After) not over yet");
      return done_.retry("rate limited by Smartcar");
    }
    car_->tokens().propagate_to(car_->conn);
    with_token(false, [](PollRound& self) { self.request(self.first_url()); });
  }

 private:
  std::string first_url() const {
    const SmartcarSettings& s = *ctx_.settings;
    if (s.use_v2_batch)
      return s.v2_base_url + "/vehicles/" + url_encode(car_->vehicle_id) + "/batch";
    return signals_url(s.api_base_url, car_->vehicle_id);
  }

  // `after_401`: the access token just used was refused; the chain refreshes unless another car
  // of the consent already did.
  template <class Next>
  void with_token(bool after_401, Next next) {
    auto self = shared_from_this();
    auto on_token = [self, next](const TokenResult& t) {
      using O = TokenResult::Outcome;
      switch (t.outcome) {
        case O::ready:
          self->access_ = t.access_token;
          return next(*self);
        case O::retry:
          return self->finish_retry(t.reason);
        case O::rate_limited:
          self->car_->report(OEMLINK_STATE_RATE_LIMITED, t.until_ms, t.reason);
          return self->finish_retry(t.reason);
        case O::reauth:
          return self->needs_reauth(t.reason, t.reauth_url);
      }
    };
    if (after_401)
      car_->tokens().refresh_after_401(access_, car_->conn, std::move(on_token));
    else
      car_->tokens().get(car_->conn, std::move(on_token));
  }

  void request(std::string url) {
    const int64_t now = ctx_.host.now_ms();
    if (!ctx_.budget.try_take(now)) {
      ctx_.host.count("budget_exhausted");
      const int64_t until = ctx_.budget.next_token_at(now);
      emit_collected();
      car_->report(OEMLINK_STATE_RATE_LIMITED, until,
                   "smartcar: the application's request budget is empty (capacity " +
                       std::to_string(ctx_.settings->request_budget_capacity) +
                       "); next request in " + std::to_string((until - now + 999) / 1000) + " s");
      return done_.retry("smartcar request budget empty");
    }
    const SmartcarSettings& s = *ctx_.settings;
    HttpRequest req;
    req.url = url;
    req.timeout_ms = static_cast<uint32_t>(s.request_timeout.count());
    req.headers = {{"Authorization", "Bearer " + access_},
                   {"Accept", "application/json"},
                   {"User-Agent", "oemlink-smartcar/0.1"}};
    if (s.use_v2_batch) {
      req.method = "POST";
      req.headers.emplace_back("Content-Type", "application/json");
      req.headers.emplace_back("SC-Unit-System", s.v2_unit_system);
      boost::json::array paths;
      for (const std::string& p : s.v2_batch_paths)
        paths.push_back(boost::json::object{{"path", p}});
      req.body = boost::json::serialize(boost::json::object{{"requests", std::move(paths)}});
    }
    ++requests_;
    auto self = shared_from_this();
    if (!ctx_.host.http(car_->conn, req,
                        [self, url](const HttpResponse& r) { self->on_response(url, r); }))
      finish_retry("the host refused the Smartcar request");
  }

  void on_response(const std::string& url, const HttpResponse& r) {
    if (r.status != OEMLINK_OK) {
      ctx_.host.count("transport_failures");
      return finish_retry("smartcar request failed: " + std::string(r.error.substr(0, 200)));
    }
    if (r.http_status == 200) return on_page(url, r.body);
    ctx_.host.count("api_errors");
    SmartcarError e =
        classify_error(r.http_status, r.body, r.header("retry-after"), ctx_.host.now_ms());
    switch (e.action) {
      case ErrorAction::unauthorized:
        if (!auth_retried_) {
          // The stored access token was refused before its expiry (revoked, rotated elsewhere):
          // one forced refresh, then the same request again.
          auth_retried_ = true;
          return with_token(true, [url](PollRound& self) { self.request(url); });
        }
        return needs_reauth(e.reason, e.reauth_url);
      case ErrorAction::reauth:
        return needs_reauth(e.reason, e.reauth_url);
      case ErrorAction::asleep:
        emit_collected();
        car_->report(OEMLINK_STATE_ASLEEP, 0, e.reason);
        return done_.ok();
      case ErrorAction::rate_limited:
        if (e.app_wide && e.until_ms) ctx_.budget.block_until(e.until_ms, ctx_.host.now_ms());
        if (!e.app_wide) car_->not_before_ms = e.until_ms;
        emit_collected();
        car_->report(OEMLINK_STATE_RATE_LIMITED, e.until_ms, e.reason);
        return done_.retry(e.reason);
      case ErrorAction::failed:
        emit_collected();
        car_->failed_reason = e.reason;
        car_->report(OEMLINK_STATE_FAILED, 0, e.reason);
        return done_.error(e.reason);
      case ErrorAction::transient:
        return finish_retry(e.reason);
      case ErrorAction::error:
        emit_collected();
        return done_.error(e.reason);
    }
  }

  void on_page(const std::string& url, std::string_view body) {
    const int64_t now = ctx_.host.now_ms();
    const SmartcarSettings& s = *ctx_.settings;
    std::string next;
    if (s.use_v2_batch) {
      boost::system::error_code ec;
      boost::json::value doc = boost::json::parse(body, ec);
      const boost::json::array* responses =
          ec ? nullptr : json::array(json::member(&doc, "responses"));
      if (!responses) {
        ctx_.host.count("malformed_responses");
        return finish_retry("smartcar v2 batch answer has no responses list");
      }
      map_v2_responses(*responses,
                       s.v2_unit_system == "imperial" ? UnitSystem::imperial : UnitSystem::metric,
                       now, readings_, stats_);
    } else {
      std::string error;
      auto page = parse_signals_page(body, error);
      if (!page) {
        ctx_.host.count("malformed_responses");
        return finish_retry("smartcar: " + error);
      }
      for (const boost::json::value& item : *page->data) map_signal(item, now, readings_, stats_);
      next = page->next;
    }
    ++pages_;
    if (!next.empty()) {
      bool refused = false;
      auto next_url = resolve_next(s.api_base_url, url, next, &refused);
      if (refused) {
        ctx_.host.count("next_links_refused");
        ctx_.host.log(OEMLINK_LOG_WARN,
                      "smartcar: vehicle " + car_->vehicle_id +
                          ": links.next points outside the API base; paging stopped",
                      car_->conn);
      } else if (next_url && pages_ < s.max_pages) {
        return request(*next_url);
      } else if (next_url) {
        ctx_.host.count("pages_truncated");
        ctx_.host.log(OEMLINK_LOG_WARN,
                      "smartcar: vehicle " + car_->vehicle_id + ": more than max_pages (" +
                          std::to_string(s.max_pages) + ") signals pages; the rest is skipped",
                      car_->conn);
      }
    }
    finish();
  }

  void account() {
    Host& h = ctx_.host;
    if (stats_.skipped_status) h.count("signals_skipped_status", stats_.skipped_status);
    if (stats_.unmapped) h.count("signals_unmapped", stats_.unmapped);
    if (stats_.empty) h.count("signals_empty", stats_.empty);
    if (stats_.rejected) {
      h.count("signals_rejected", stats_.rejected);
      h.log(OEMLINK_LOG_WARN,
            "smartcar: vehicle " + car_->vehicle_id + ": " + std::to_string(stats_.rejected) +
                " value(s) rejected, first: " + stats_.first_rejection,
            car_->conn);
    }
    stats_ = MapStats{};
  }

  // Readings of the pages that did arrive are real data: they go out even when a later request
  // of the round fails. Returns false when the host pushed back.
  bool emit_collected() {
    account();
    if (readings_.empty()) return true;
    const oemlink_status st = ctx_.host.emit(car_->conn, readings_);
    if (st == OEMLINK_RETRY) {
      ctx_.host.count("emit_backpressure");
      return false;
    }
    ctx_.host.count("readings_emitted", readings_.size());
    readings_.clear();
    return true;
  }

  void finish() {
    if (!emit_collected()) return done_.retry("host back-pressure");
    if (car_->last_state != OEMLINK_STATE_OK) car_->report(OEMLINK_STATE_OK, 0, {});
    done_.ok();
  }

  void finish_retry(const std::string& why) {
    emit_collected();
    done_.retry(why);
  }

  void needs_reauth(const std::string& why, const std::string& url) {
    emit_collected();
    const std::string reason = reauth_reason(*ctx_.settings, car_->vehicle_id, url, why);
    car_->report(OEMLINK_STATE_NEEDS_REAUTH, 0, reason);
    done_.error(reason);
  }

  std::shared_ptr<CarState> car_;
  InstanceContext& ctx_;
  PollDone done_;
  std::vector<oemlink_reading> readings_;
  MapStats stats_;
  std::string access_;  // the token of this round's requests
  int64_t pages_ = 0;
  int requests_ = 0;
  bool auth_retried_ = false;
};

}  // namespace

void CarState::report(oemlink_conn_state state, int64_t until_ms, std::string_view reason) {
  last_state = state;
  ctx->host.report_state(conn, state, until_ms, reason);
}

TokenChain& CarState::tokens() {
  if (!chain) chain = ctx->chains.chain_of(user, conn, vehicle_id);
  return *chain;
}

SmartcarConnection::SmartcarConnection(std::shared_ptr<InstanceContext> ctx, ConnHandle conn,
                                       std::string vehicle_id, std::string user)
    : car_(std::make_shared<CarState>()) {
  car_->ctx = std::move(ctx);
  car_->conn = conn;
  car_->vehicle_id = std::move(vehicle_id);
  car_->user = std::move(user);
  if (!car_->user.empty()) car_->ctx->chains.enroll(car_->user, conn, car_->vehicle_id);
}

SmartcarConnection::~SmartcarConnection() {
  car_->ctx->registry.remove(car_->vehicle_id, car_->conn);
  if (!car_->user.empty())
    car_->ctx->chains.leave(car_->user, car_->conn);
  else if (car_->chain)
    car_->chain->remove_member(car_->conn);
}

void SmartcarConnection::poll(PollDone done) {
  std::make_shared<PollRound>(car_, std::move(done))->start();
}

}  // namespace oemlink::smartcar
