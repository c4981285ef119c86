// Shared by the Tesla driver tests: fixture files, response bodies the way Tesla shapes them,
// JWT-shaped access tokens with scopes, and lookups over recorded readings.
#ifndef OEMLINK_TESTS_PLUGINS_TESLA_SUPPORT_HPP
#define OEMLINK_TESTS_PLUGINS_TESLA_SUPPORT_HPP

#include "base64.hpp"
#include "signal_reading.hpp"

#include <oemlink/testkit/fake_host.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace oemlink::tesla::test {

inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(OEMLINK_SOURCE_DIR) + "/tests/plugins/tesla/fixtures/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// An access token shaped like Tesla's (a JWT) whose payload grants `scopes`.
inline std::string jwt_with_scopes(const std::vector<std::string>& scopes,
                                   const std::string& salt = "a") {
  std::string scp;
  for (const auto& s : scopes) scp += (scp.empty() ? "\"" : ",\"") + s + "\"";
  return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         base64url_encode(R"({"iss":"https://auth.tesla.com","scp":[)" + scp + R"(],"n":")" + salt +
                          "\"}") +
         ".c2ln";
}

inline std::string token_reply(const std::string& access, const std::string& refresh,
                               int expires_in = 28800) {
  return R"({"access_token":")" + access + R"(","refresh_token":")" + refresh +
         R"(","id_token":"x","expires_in":)" + std::to_string(expires_in) +
         R"(,"token_type":"Bearer"})";
}

inline std::string region_reply(const std::string& base) {
  return R"({"response":{"region":"na","fleet_api_base_url":")" + base + R"("}})";
}

struct ListedCar {
  std::string id, vin, state;
};
inline std::string list_reply(const std::vector<ListedCar>& cars) {
  std::string items;
  for (const auto& c : cars) {
    items += (items.empty() ? "" : ",") + std::string(R"({"id":)") + c.id + R"(,"id_s":")" + c.id +
             R"(","vehicle_id":1,"vin":")" + c.vin + R"(","display_name":"x","state":")" + c.state +
             R"("})";
  }
  return R"({"response":[)" + items + R"(],"count":)" + std::to_string(cars.size()) + "}";
}

// The reading called `name`; nullopt when absent.
template <class R>
std::optional<R> find_reading(const std::vector<R>& readings, std::string_view name) {
  for (const auto& r : readings)
    if (r.name == name) return r;
  return std::nullopt;
}

inline size_t count_named(const std::vector<SignalReading>& readings, std::string_view name) {
  size_t n = 0;
  for (const auto& r : readings) n += r.name == name;
  return n;
}

}  // namespace oemlink::tesla::test

#endif
