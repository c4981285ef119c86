#include "tesla_account.hpp"

#include "call_counter.hpp"

namespace oemlink::tesla {

struct TeslaAccount::Attempt {
  FleetCall call;
  Reply reply;
  bool refreshed = false;   // one token refresh per call after a 401
  bool redirected = false;  // one region change per call after a 421
};

TeslaAccount::TeslaAccount(Host host, std::shared_ptr<const TeslaSettings> settings,
                           std::string name)
    : host_(host),
      settings_(settings),
      name_(name),
      chain_(std::make_shared<TokenChain>(host, settings, name)),
      region_(std::make_shared<RegionResolver>(host, settings, name)) {}

int64_t TeslaAccount::rate_limited_until() const {
  std::lock_guard lock(mu_);
  return rate_limited_until_;
}

std::string TeslaAccount::rate_limit_reason() const {
  std::lock_guard lock(mu_);
  return rate_limit_reason_;
}

void TeslaAccount::report_all(oemlink_conn_state state, int64_t until, const std::string& reason) {
  for (ConnHandle m : chain_->members()) host_.report_state(m, state, until, reason);
}

void TeslaAccount::call(FleetCall call, Reply reply) {
  auto a = std::make_shared<Attempt>();
  a->call = std::move(call);
  a->reply = std::move(reply);
  run(std::move(a));
}

void TeslaAccount::run(std::shared_ptr<Attempt> a) {
  const int64_t now = host_.now_ms();
  {
    std::lock_guard lock(mu_);
    if (rate_limited_until_ > now) {
      ApiOutcome o = ApiOutcome::of(ApiOutcome::Kind::rate_limited);
      o.until_ms = rate_limited_until_;
      o.reason = rate_limit_reason_;
      a->reply(FleetReply{o, {}, {}});
      return;
    }
  }
  std::weak_ptr<TeslaAccount> weak = weak_from_this();
  chain_->get(a->call.token_for(), [weak, a](const TokenResult& t) {
    auto self = weak.lock();
    if (!self) return;
    if (t.status != TokenResult::Status::ok) {
      ApiOutcome o =
          ApiOutcome::of(t.status == TokenResult::Status::reauth ? ApiOutcome::Kind::reauth
                                                                 : ApiOutcome::Kind::retry);
      o.reason = t.reason;
      a->reply(FleetReply{o, {}, {}});
      return;
    }
    const std::string token = t.access_token;
    self->region_->resolve(token, [weak, a, token](const ApiOutcome& o, const std::string& base) {
      auto self = weak.lock();
      if (!self) return;
      if (o.kind == ApiOutcome::Kind::ok) {
        self->send(a, base, token);
        return;
      }
      if (o.kind == ApiOutcome::Kind::unauthorized && !a->refreshed) {
        a->refreshed = true;
        self->chain_->refresh_after_401(token, a->call.token_for(), [weak, a](const TokenResult&) {
          if (auto self = weak.lock()) self->run(a);
        });
        return;
      }
      ApiOutcome out = o;
      if (o.kind == ApiOutcome::Kind::unauthorized) {
        out.kind = ApiOutcome::Kind::reauth;
        out.reason = "region lookup refused the token after a refresh (" + o.reason + ")";
      }
      a->reply(FleetReply{out, {}, token});
    });
  });
}

void TeslaAccount::send(std::shared_ptr<Attempt> a, const std::string& base,
                        const std::string& token) {
  const int64_t now = host_.now_ms();
  if (a->call.budget && !a->call.budget->take(now)) {
    host_.count("budget_exhausted");
    ApiOutcome o = ApiOutcome::of(ApiOutcome::Kind::rate_limited);
    o.until_ms = DailyBudget::next_utc_midnight_ms(now);
    o.reason = "daily request budget of " + std::to_string(a->call.budget->limit()) +
               " billed calls spent; next calls after midnight UTC";
    a->reply(FleetReply{o, {}, token});
    return;
  }
  HttpRequest req = a->call.build(base, token);
  req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!req.timeout_ms) req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  std::weak_ptr<TeslaAccount> weak = weak_from_this();
  const bool started = host_.http(a->call.conn, req, [weak, a, token](const HttpResponse& r) {
    if (auto self = weak.lock()) self->on_answer(a, token, r);
  });
  if (!started) {
    if (a->call.budget) a->call.budget->refund(now);
    ApiOutcome o = ApiOutcome::of(ApiOutcome::Kind::retry);
    o.reason = "the host refused the " + a->call.category + " request";
    a->reply(FleetReply{o, {}, token});
  }
}

void TeslaAccount::on_answer(std::shared_ptr<Attempt> a, const std::string& token,
                             const HttpResponse& r) {
  const int64_t now = host_.now_ms();
  count_call(host_, a->call.category, r);
  ApiOutcome o = classify_fleet_response(r, now);
  if (!o.billed && a->call.budget) a->call.budget->refund(now);
  std::weak_ptr<TeslaAccount> weak = weak_from_this();
  switch (o.kind) {
    case ApiOutcome::Kind::unauthorized:
      if (!a->refreshed) {
        a->refreshed = true;
        host_.count("unauthorized_refreshes");
        chain_->refresh_after_401(token, a->call.token_for(), [weak, a](const TokenResult&) {
          if (auto self = weak.lock()) self->run(a);
        });
        return;
      }
      o.kind = ApiOutcome::Kind::reauth;
      o.reason = "Tesla refused a freshly refreshed token (" + o.reason +
                 "): the owner must link the car again";
      report_all(OEMLINK_STATE_NEEDS_REAUTH, 0, o.reason);
      break;
    case ApiOutcome::Kind::misdirected:
      if (!a->redirected) {
        a->redirected = true;
        region_->redirect(o.redirect_base);
        run(a);
        return;
      }
      o.kind = ApiOutcome::Kind::retry;
      o.reason += " twice in a row";
      break;
    case ApiOutcome::Kind::rate_limited:
      if (a->call.account_scoped) {
        {
          std::lock_guard lock(mu_);
          rate_limited_until_ = std::max(rate_limited_until_, o.until_ms);
          rate_limit_reason_ = "account " + name_ + ": " + o.reason;
          o.reason = rate_limit_reason_;
        }
        host_.count("rate_limited_account");
        report_all(OEMLINK_STATE_RATE_LIMITED, o.until_ms, o.reason);
      } else {
        host_.count("rate_limited_car");
      }
      break;
    default:
      break;
  }
  FleetReply reply{std::move(o), std::string(r.body), token};
  a->reply(reply);
}

int64_t TeslaAccount::listed_at_ms() const {
  std::lock_guard lock(mu_);
  return listed_at_ms_;
}

void TeslaAccount::forget_vehicles() {
  std::lock_guard lock(mu_);
  list_at_ms_ = -1;
}

struct TeslaAccount::Listing {
  ConnHandle asking = nullptr;
  std::shared_ptr<std::vector<VehicleEntry>> vehicles =
      std::make_shared<std::vector<VehicleEntry>>();
  int pages = 0;
};

void TeslaAccount::vehicles(ConnHandle asking, ListReply reply) {
  std::unique_lock lock(mu_);
  const int64_t now = host_.now_ms();
  if (list_at_ms_ >= 0 && now - list_at_ms_ < settings_->vehicle_list_ttl_ms) {
    // Shared, not copied: an account's list is read by every poll of its cars.
    std::shared_ptr<const std::vector<VehicleEntry>> cached = list_;
    lock.unlock();
    host_.count("vehicle_list_cache_hits");
    reply(ApiOutcome::of(ApiOutcome::Kind::ok), *cached);
    return;
  }
  list_waiters_.push_back(std::move(reply));
  if (listing_) return;
  listing_ = true;
  lock.unlock();
  auto listing = std::make_shared<Listing>();
  listing->asking = asking;
  list_page(std::move(listing), 1, 0);
}

void TeslaAccount::list_page(std::shared_ptr<Listing> listing, int64_t page, int64_t per_page) {
  FleetCall c;
  c.category = "vehicle_list";
  c.asking = listing->asking;
  c.account_scoped = true;
  const std::string path = vehicle_list_path(page, per_page);
  c.build = [path](const std::string& base, const std::string&) {
    HttpRequest req;
    req.url = base + path;
    req.headers = {{"Accept", "application/json"}};
    return req;
  };
  ++listing->pages;
  std::weak_ptr<TeslaAccount> weak = weak_from_this();
  call(std::move(c), [weak, listing, page](const FleetReply& r) {
    if (auto self = weak.lock()) self->on_list_page(listing, page, r);
  });
}

void TeslaAccount::on_list_page(std::shared_ptr<Listing> listing, int64_t page,
                                const FleetReply& reply) {
  ApiOutcome o = reply.outcome;
  if (o.kind != ApiOutcome::Kind::ok) {
    finish_list(std::move(o), nullptr);
    return;
  }
  auto parsed = parse_vehicle_page(reply.body);
  if (!parsed) {
    host_.count("vehicle_list_parse_errors");
    o.kind = ApiOutcome::Kind::retry;
    o.reason = "vehicle list of account " + name_ + " (page " + std::to_string(page) +
               ") is not a list envelope";
    finish_list(std::move(o), nullptr);
    return;
  }
  auto& all = *listing->vehicles;
  all.insert(all.end(), std::make_move_iterator(parsed->vehicles.begin()),
             std::make_move_iterator(parsed->vehicles.end()));
  if (parsed->next_page == 0) {
    finish_list(std::move(o), listing->vehicles);
    return;
  }
  if (parsed->next_page <= page || listing->pages >= kMaxVehicleListPages) {
    host_.count("vehicle_list_page_errors");
    o.kind = ApiOutcome::Kind::retry;
    o.reason = parsed->next_page <= page
                   ? "vehicle list of account " + name_ + ": page " + std::to_string(page) +
                         " names page " + std::to_string(parsed->next_page) + " as the next"
                   : "vehicle list of account " + name_ + " has more than " +
                         std::to_string(kMaxVehicleListPages) + " pages";
    finish_list(std::move(o), nullptr);
    return;
  }
  list_page(std::move(listing), parsed->next_page, parsed->per_page);
}

void TeslaAccount::finish_list(ApiOutcome o, std::shared_ptr<std::vector<VehicleEntry>> list) {
  if (!list) list = std::make_shared<std::vector<VehicleEntry>>();
  std::vector<ListReply> waiters;
  {
    std::lock_guard lock(mu_);
    listing_ = false;
    if (o.kind == ApiOutcome::Kind::ok) {
      list_ = list;
      list_at_ms_ = host_.now_ms();
      listed_at_ms_ = list_at_ms_;
    }
    waiters.swap(list_waiters_);
  }
  for (auto& w : waiters) w(o, *list);
}

}  // namespace oemlink::tesla
