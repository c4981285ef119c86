// The built Tesla driver loaded through the C ABI (as the host loads it) on the SDK's test kit,
// with helpers to seed a connection's tokens and script Tesla's answers.
#ifndef OEMLINK_TESTS_PLUGINS_TESLA_DRIVER_FIXTURE_HPP
#define OEMLINK_TESTS_PLUGINS_TESLA_DRIVER_FIXTURE_HPP

#include "tesla_test_support.hpp"

#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace oemlink::tesla::test {

using testkit::Completion;
using testkit::ConnSpec;
using testkit::DriverUnderTest;
using testkit::HttpReply;

inline const oemlink_driver* tesla_descriptor() {
  static const oemlink_driver* d = [] {
    std::string error;
    const oemlink_driver* desc =
        testkit::load_driver(std::string(OEMLINK_PLUGIN_DIR) + "/oemlink-driver-tesla.so", &error);
    if (!desc) ADD_FAILURE() << "cannot load the tesla driver: " << error;
    return desc;
  }();
  return d;
}

inline const std::string kAuth = "https://auth.test";
inline const std::string kDiscovery = "https://fleet.test";
inline const std::string kRegion = "https://fleet-api.prd.na.vn.cloud.tesla.com";
inline const std::string kVin1 = "5YJ3E1EA7KF000001";
inline const std::string kVin2 = "5YJ3E1EA7KF000002";

class TeslaDriverTest : public ::testing::Test {
 protected:
  // `extra`: more settings members, each with a leading comma.
  void create(const std::string& extra = "") {
    d = std::make_unique<DriverUnderTest>(
        tesla_descriptor(), R"({"client_id":"cid","auth_base_url":")" + kAuth +
                                R"(","fleet_api_base_url":")" + kDiscovery + "\"" + extra + "}");
    ASSERT_TRUE(d->created()) << d->create_error();
    host().answer_http_inline = true;
  }
  testkit::FakeHost& host() { return d->host; }

  // Opens car number `index` (0-based, in opening order) with a seeded refresh token.
  oemlink_conn* open_car(int index, const std::string& vin, const std::string& tesla_id,
                         const std::string& account = "", const std::string& refresh = "r0",
                         const std::string& issued_at = "") {
    auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + index));
    if (!refresh.empty()) host().secrets[{handle, "refresh_token"}] = refresh;
    if (!issued_at.empty()) host().secrets[{handle, "issued_at_ms"}] = issued_at;
    ConnSpec spec;
    spec.id = "car" + std::to_string(index);
    spec.vin = vin;
    spec.identifiers_json = R"({"tesla_id":")" + tesla_id + "\"" +
                            (account.empty() ? "" : R"(,"account":")" + account + "\"") + "}";
    oemlink_conn* c = d->open(spec);
    EXPECT_EQ(c, handle) << d->open_error();
    return c;
  }

  void script(int code, const std::string& body, testkit::Headers headers = {}) {
    host().script_http(HttpReply::with_status(code, body, std::move(headers)));
  }
  // The answers of a first poll up to the vehicle list: token, region, list.
  void script_login(const std::string& access, const std::string& refresh,
                    const std::vector<ListedCar>& cars) {
    script(200, token_reply(access, refresh));
    script(200, region_reply(kRegion));
    script(200, list_reply(cars));
  }
  std::string secret(oemlink_conn* c, const std::string& key) {
    auto it = host().secrets.find({c, key});
    return it == host().secrets.end() ? std::string("<none>") : it->second;
  }
  const testkit::RecordedState& last_state() {
    EXPECT_FALSE(host().states.empty());
    return host().states.back();
  }
  uint64_t counter(const std::string& name) { return host().counters[name]; }

  std::string access1 = jwt_with_scopes({"openid", "offline_access", "vehicle_device_data"}, "1");
  std::string access2 = jwt_with_scopes({"openid", "offline_access", "vehicle_device_data"}, "2");
  std::unique_ptr<DriverUnderTest> d;
};

inline std::string vehicle_data_url(const std::string& id, const std::string& extra = "") {
  return kRegion + "/api/1/vehicles/" + id +
         "/vehicle_data?endpoints=charge_state%3Bclimate_state%3Bdrive_state%3Bvehicle_state" +
         extra;
}

}  // namespace oemlink::tesla::test

#endif
