// Shared by the Smartcar driver tests: the loaded driver, settings pointing at fake hosts, a car
// with seeded tokens, webhook delivery through the C ABI, and real-shaped payload builders (from
// the shapes in shared/spec/oem-apis.md and real 2025-26 deliveries).
#ifndef OEMLINK_TESTS_PLUGINS_SMARTCAR_FIXTURE_HPP
#define OEMLINK_TESTS_PLUGINS_SMARTCAR_FIXTURE_HPP

#include <oemlink/testkit/driver_harness.hpp>

#include "webhook_verifier.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::smartcar::test {

using namespace ::oemlink::testkit;

inline const oemlink_driver* smartcar_descriptor() {
  static const oemlink_driver* d = [] {
    std::string error;
    const std::string path = std::string(OEMLINK_PLUGIN_DIR) + "/oemlink-driver-smartcar.so";
    void* lib = load_library(path, &error);
    if (!lib) ADD_FAILURE() << "cannot load the smartcar driver: " << error;
    return lib ? entry_descriptor(lib) : nullptr;
  }();
  return d;
}

inline constexpr std::string_view kVehicle = "36ab27d0-fd9d-4455-823a-ce30af709ffc";
inline constexpr std::string_view kAuth = "http://auth.test";
inline constexpr std::string_view kApi = "http://api.test/v3";

inline std::string settings_json(std::string extra = {}) {
  std::string s = R"({"client_id":"cid","client_secret":"csecret","amt":"amt",)"
                  R"("auth_base_url":"http://auth.test","api_base_url":"http://api.test/v3",)"
                  R"("v2_base_url":"http://v2.test/v2.0","connect_base_url":"http://connect.test")";
  if (!extra.empty()) s += "," + extra;
  return s + "}";
}

// A driver instance with one car whose tokens are stored (access valid for an hour).
struct OneCar {
  explicit OneCar(std::string extra_settings = {}, bool seed_tokens = true)
      : driver(std::make_unique<DriverUnderTest>(smartcar_descriptor(),
                                                 settings_json(std::move(extra_settings)))) {
    if (!driver->created()) {
      ADD_FAILURE() << "create failed: " << driver->create_error();
      return;
    }
    ConnSpec spec;
    spec.id = "car-1";
    spec.identifiers_json = R"({"smartcar_id":")" + std::string(kVehicle) + R"("})";
    conn = driver->open(spec);
    if (!conn) ADD_FAILURE() << "open failed: " << driver->open_error();
    host().answer_http_inline = true;
    if (seed_tokens) {
      host().secrets[{conn, "access_token"}] = "at-0";
      host().secrets[{conn, "refresh_token"}] = "rt-0";
      host().secrets[{conn, "access_expires_at_ms"}] = std::to_string(host().now_ms + 3600000);
    }
  }
  FakeHost& host() { return driver->host; }
  Completion& poll() { return driver->poll(conn); }
  std::string secret(const std::string& key) {
    auto it = host().secrets.find({conn, key});
    return it == host().secrets.end() ? std::string() : it->second;
  }
  uint64_t counter(const std::string& name) {
    auto it = host().counters.find(name);
    return it == host().counters.end() ? 0 : it->second;
  }

  std::unique_ptr<DriverUnderTest> driver;
  oemlink_conn* conn = nullptr;
};

// ---- v3 signals pages

// One v3 signal as GET /signals returns it; `status` "SUCCESS", "ERROR" or "UNAVAILABLE".
inline std::string v3_signal(
    std::string_view code, std::string_view body,
    std::string_view meta =
        R"({"retrievedAt":"2026-06-30T00:03:53.743Z","oemUpdatedAt":"2026-06-29T23:55:53.000Z"})",
    std::string_view status = "SUCCESS") {
  std::string s = R"({"id":")" + std::string(code) + R"(","type":"signal","attributes":{"code":")" +
                  std::string(code) + R"(","name":"X","group":"Y","status":{"value":")" +
                  std::string(status) + "\"";
  if (status != "SUCCESS")
    s +=
        R"(,"error":{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE","title":"Vehicle Not Capable","detail":"The vehicle is incapable of performing your request.","resolution":{"type":"UNKNOWN_RESOLUTION_TYPE"}})";
  s += "}";
  if (!body.empty()) s += R"(,"body":)" + std::string(body);
  s += R"(},"meta":)" + std::string(meta) + "}";
  return s;
}

inline std::string v3_page(const std::vector<std::string>& signals, std::string_view next = {}) {
  std::string s = R"({"data":[)";
  for (size_t i = 0; i < signals.size(); ++i) s += (i ? "," : "") + signals[i];
  s += R"(],"meta":{"totalCount":)" + std::to_string(signals.size()) + R"(,"pageSize":)" +
       std::to_string(signals.size()) +
       R"(,"pageNumber":1},"links":{"self":"http://api.test/v3/vehicles/x/signals")";
  if (!next.empty()) s += R"(,"next":")" + std::string(next) + "\"";
  return s + "}}";
}

// A realistic full page: a VW ID.4-like answer with successes, per-signal errors and units as
// Smartcar really labels them.
inline std::string realistic_page() {
  return v3_page({
      v3_signal("charge-chargelimits",
                R"({"values":[{"type":"GLOBAL","limit":80}],"activeLimit":80,"unit":"percent"})"),
      v3_signal("charge-chargerate", R"({"value":53,"unit":"km/h"})", "{}", "ERROR"),
      v3_signal("charge-ischarging", R"({"value":false})"),
      v3_signal("charge-ischargingcableconnected", R"({"value":true})"),
      v3_signal("charge-wattage", R"({"value":7400,"unit":"watts"})"),
      v3_signal("closure-doors", R"({"values":[{"row":0,"column":0,"isOpen":false}]})"),
      v3_signal("connectivitystatus-isonline", "", R"({"ingestedAt":"2026-06-30T00:03:55.110Z"})",
                "UNAVAILABLE"),
      v3_signal(
          "location-preciselocation",
          R"({"latitude":48.1374,"longitude":11.5755,"heading":271.5,"locationType":"LAST_PARKED"})"),
      v3_signal("odometer-traveleddistance", R"({"value":52891,"unit":"km"})"),
      v3_signal("tractionbattery-range",
                R"({"value":253,"type":"DEFAULT","additionalValues":[],"unit":"kilometers"})"),
      v3_signal("tractionbattery-stateofcharge", R"({"value":57,"unit":"percent"})"),
      v3_signal("climate-externaltemperature", R"({"value":-0.0,"unit":"celsius"})"),
      v3_signal(
          "wheel-tires",
          R"({"values":[{"row":0,"column":0,"tirePressure":258},{"row":0,"column":1,"tirePressure":262},{"row":1,"column":0,"tirePressure":2.5},{"row":1,"column":1,"tirePressure":2.55}],"unit":"bar","rowCount":2,"columnCount":2})"),
      v3_signal("vehicleidentification-vin", R"({"value":"WVWZZZE1ZPP000001"})"),
  });
}

// ---- webhooks

struct WebhookAnswer {
  oemlink_status returned = OEMLINK_ERROR;
  int calls = 0;
  int status = 0;
  std::string body;
  std::string content_type;
};

inline WebhookAnswer deliver(DriverUnderTest& d, std::string_view body,
                             std::vector<std::pair<std::string, std::string>> headers,
                             std::string_view method = "POST") {
  std::vector<oemlink_http_header> hs;
  for (auto& [k, v] : headers) hs.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  oemlink_http_request r{};
  r.struct_size = sizeof r;
  r.method = {method.data(), method.size()};
  r.url = {"/webhooks/smartcar", 18};
  r.headers = hs.data();
  r.header_count = hs.size();
  r.body = {body.data(), body.size()};
  WebhookAnswer a;
  a.returned = d.descriptor()->webhook(
      d.instance(), &r,
      [](void* ctx, const oemlink_http_response* resp) {
        auto* out = static_cast<WebhookAnswer*>(ctx);
        ++out->calls;
        out->status = resp->http_status;
        out->body.assign(resp->body.data, resp->body.size);
        for (size_t i = 0; i < resp->header_count; ++i)
          if (std::string_view(resp->headers[i].name.data, resp->headers[i].name.size) ==
              "Content-Type")
            out->content_type.assign(resp->headers[i].value.data, resp->headers[i].value.size);
      },
      &a);
  return a;
}

// Signed the way Smartcar signs: hex HMAC-SHA256(amt, raw body) in SC-Signature.
inline WebhookAnswer deliver_signed(DriverUnderTest& d, std::string_view body,
                                    std::string_view key = "amt") {
  return deliver(
      d, body,
      {{"Content-Type", "application/json"}, {"SC-Signature", hmac_sha256_hex(key, body)}});
}

// A payload 4.0 VEHICLE_STATE as real deliveries look (top-level triggers, no vehicleId).
inline std::string vehicle_state_4(std::string_view event_id, std::string_view vehicle_id,
                                   std::string_view signals_json) {
  return R"({"eventId":")" + std::string(event_id) +
         R"(","eventType":"VEHICLE_STATE","data":{"user":{"id":"00000000-0000-0000-0000-000000000099"},"vehicle":{"id":")" +
         std::string(vehicle_id) +
         R"(","make":"VOLKSWAGEN","model":"ID.7","year":2025,"mode":"live","powertrainType":null},"signals":)" +
         std::string(signals_json) +
         R"(},"triggers":[{"type":"SIGNAL_UPDATED","signal":{"name":"IsCharging","code":"charge-ischarging","group":"Charge"}}],"meta":{"deliveryId":"54e2e1a8-37ce-4988-8925-50963662792c","deliveredAt":1780222662654,"version":"4.0","webhookId":"cfa94613-bc6c-49ca-8df5-01509119f9ad","webhookName":"AutoData","mode":"LIVE","signalCount":3}})";
}

inline std::string webhook_signals_4() {
  return R"([{"code":"odometer-traveleddistance","name":"TraveledDistance","group":"Odometer","body":{"value":16342,"unit":"km"},"meta":{"oemUpdatedAt":1780222611098,"retrievedAt":1780222660987},"status":{"value":"SUCCESS"}},)"
         R"({"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery","body":{"value":80,"unit":"percent"},"meta":{"oemUpdatedAt":1780222506000,"retrievedAt":1780222662364},"status":{"value":"SUCCESS"}},)"
         R"({"code":"charge-chargerate","name":"ChargeRate","group":"Charge","body":{"value":30,"unit":"km/h"},"meta":{"oemUpdatedAt":1780222271000,"retrievedAt":1780222301541},"status":{"value":"ERROR","error":{"type":"VEHICLE_STATE","code":"NOT_CHARGING"}}}])";
}

inline const RecordedReading* find_reading(const RecordedEmit& e, std::string_view name) {
  for (const RecordedReading& r : e.readings)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace oemlink::smartcar::test

#endif  // OEMLINK_TESTS_PLUGINS_SMARTCAR_FIXTURE_HPP
