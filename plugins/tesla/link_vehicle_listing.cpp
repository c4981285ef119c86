#include "link_vehicle_listing.hpp"

#include "call_counter.hpp"
#include "tesla_account.hpp"

namespace oemlink::tesla {

void LinkVehicleListing::start(Host host, std::shared_ptr<const TeslaSettings> settings,
                               std::string access_token, std::string account, Done done) {
  auto listing = std::make_shared<LinkVehicleListing>(
      host, std::move(settings), std::move(access_token), std::move(account), std::move(done));
  listing->resolve();
}

LinkVehicleListing::LinkVehicleListing(Host host, std::shared_ptr<const TeslaSettings> settings,
                                       std::string access_token, std::string account, Done done)
    : host_(host),
      settings_(settings),
      access_token_(std::move(access_token)),
      account_(account),
      done_(std::move(done)),
      region_(std::make_shared<RegionResolver>(host, settings, "link:" + account)) {}

void LinkVehicleListing::resolve() {
  // The callbacks hold the listing: nothing else does while a request is in flight.
  auto self = shared_from_this();
  region_->resolve(access_token_, [self](const ApiOutcome& o, const std::string& base) {
    if (o.kind != ApiOutcome::Kind::ok) {
      self->finish(o);
      return;
    }
    self->vehicles_.clear();
    self->pages_ = 0;
    self->request_page(base, 1, 0);
  });
}

void LinkVehicleListing::request_page(const std::string& base, int64_t page, int64_t per_page) {
  HttpRequest req;
  req.url = base + vehicle_list_path(page, per_page);
  req.headers = {{"Authorization", "Bearer " + access_token_}, {"Accept", "application/json"}};
  req.timeout_ms = uint32_t(settings_->http_timeout_ms);
  ++pages_;
  auto self = shared_from_this();
  if (!host_.http(nullptr, req,
                  [self, base, page](const HttpResponse& r) { self->on_page(base, page, r); })) {
    ApiOutcome o =
        ApiOutcome::of(ApiOutcome::Kind::retry, "the host refused the vehicle list request");
    finish(std::move(o));
  }
}

void LinkVehicleListing::on_page(const std::string& base, int64_t page, const HttpResponse& r) {
  count_call(host_, "vehicle_list", r);
  ApiOutcome o = classify_fleet_response(r, host_.now_ms());
  if (o.kind == ApiOutcome::Kind::misdirected && !redirected_) {
    redirected_ = true;
    region_->redirect(o.redirect_base);
    resolve();
    return;
  }
  if (o.kind != ApiOutcome::Kind::ok) {
    finish(std::move(o));
    return;
  }
  auto parsed = parse_vehicle_page(r.body);
  if (!parsed) {
    host_.count("vehicle_list_parse_errors");
    finish(ApiOutcome::of(
        ApiOutcome::Kind::retry,
        "Tesla's vehicle list (page " + std::to_string(page) + ") is not a list envelope"));
    return;
  }
  for (VehicleEntry& e : parsed->vehicles) vehicles_.push_back(std::move(e));
  if (parsed->next_page == 0) {
    finish(std::move(o));
    return;
  }
  if (parsed->next_page <= page || pages_ >= TeslaAccount::kMaxVehicleListPages) {
    host_.count("vehicle_list_page_errors");
    finish(ApiOutcome::of(ApiOutcome::Kind::retry,
                          parsed->next_page <= page
                              ? "Tesla's vehicle list page " + std::to_string(page) +
                                    " names page " + std::to_string(parsed->next_page) +
                                    " as the next"
                              : "Tesla's vehicle list has more than " +
                                    std::to_string(TeslaAccount::kMaxVehicleListPages) + " pages"));
    return;
  }
  request_page(base, parsed->next_page, parsed->per_page);
}

void LinkVehicleListing::finish(ApiOutcome outcome) {
  if (!done_) return;
  Done done = std::move(done_);
  done_ = nullptr;
  std::vector<VehicleEntry> vehicles;
  if (outcome.kind == ApiOutcome::Kind::ok) vehicles = std::move(vehicles_);
  done(outcome, std::move(vehicles));
}

}  // namespace oemlink::tesla
