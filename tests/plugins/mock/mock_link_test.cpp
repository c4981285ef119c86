// The mock's oemlink.link/1 test double through the raw C ABI: it checks PKCE and the redirect
// URI as a maker does, refuses "bad" and unknown codes, and lists the code's cars.
#include "mock_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace oemlink::test {
namespace {

using ::testing::HasSubstr;

oemlink_str str(std::string_view s) {
  return {s.data(), s.size()};
}

// RFC 7636 appendix B.
constexpr std::string_view kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr std::string_view kRedirect = "https://host.example/link/mock/callback";

struct Exchanged {
  int calls = 0;
  oemlink_status status = OEMLINK_ERROR;
  std::vector<std::pair<std::string, std::string>> secrets;
  std::string message;
};
struct Listed {
  int calls = 0;
  oemlink_status status = OEMLINK_ERROR;
  std::vector<std::string> ids, vins, identifiers;
  std::string message;
};

class MockLink : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d_.created()) << d_.create_error();
    ASSERT_TRUE(OEMLINK_HAS_FIELD(d_.descriptor(), oemlink_driver, get_extension));
    ext_ = static_cast<const oemlink_link_extension*>(
        d_.descriptor()->get_extension(d_.instance(), OEMLINK_EXTENSION_LINK));
    ASSERT_NE(ext_, nullptr);
  }

  std::string authorize(std::string_view state, std::string_view vehicle_id = "") {
    oemlink_link_authorize a{};
    a.struct_size = sizeof a;
    a.state = str(state);
    a.redirect_uri = str(kRedirect);
    a.code_challenge = str(kChallenge);
    a.vehicle_id = str(vehicle_id);
    char buf[2048];
    size_t size = 0;
    EXPECT_EQ(ext_->authorize_url(d_.instance(), &a, buf, sizeof buf, &size), OEMLINK_OK);
    return std::string(buf, size);
  }

  Exchanged exchange(std::string_view code, std::string_view state,
                     std::string_view verifier = kVerifier, std::string_view redirect = kRedirect) {
    std::string query = "code=" + std::string(code) + "&state=" + std::string(state);
    oemlink_link_callback c{};
    c.struct_size = sizeof c;
    c.code = str(code);
    c.query = str(query);
    c.redirect_uri = str(redirect);
    c.code_verifier = str(verifier);
    Exchanged out;
    EXPECT_EQ(ext_->exchange_code(
                  d_.instance(), &c,
                  [](void* ctx, oemlink_status st, const oemlink_str* k, const oemlink_str* v,
                     size_t n, oemlink_str msg) {
                    auto* e = static_cast<Exchanged*>(ctx);
                    ++e->calls;
                    e->status = st;
                    for (size_t i = 0; i < n; ++i)
                      e->secrets.emplace_back(std::string(k[i].data, k[i].size),
                                              std::string(v[i].data, v[i].size));
                    e->message.assign(msg.data, msg.size);
                  },
                  &out),
              OEMLINK_OK);
    EXPECT_EQ(out.calls, 1);
    return out;
  }

  Listed list(const std::vector<std::pair<std::string, std::string>>& secrets) {
    std::vector<oemlink_str> keys, values;
    for (auto& [k, v] : secrets) {
      keys.push_back(str(k));
      values.push_back(str(v));
    }
    Listed out;
    EXPECT_EQ(ext_->list_vehicles(
                  d_.instance(), keys.data(), values.data(), keys.size(),
                  [](void* ctx, oemlink_status st, const oemlink_link_vehicle* vs, size_t n,
                     oemlink_str msg) {
                    auto* l = static_cast<Listed*>(ctx);
                    ++l->calls;
                    l->status = st;
                    for (size_t i = 0; i < n; ++i) {
                      l->ids.emplace_back(vs[i].vehicle_id.data, vs[i].vehicle_id.size);
                      l->vins.emplace_back(vs[i].vin.data, vs[i].vin.size);
                      l->identifiers.emplace_back(vs[i].identifiers_json.data,
                                                  vs[i].identifiers_json.size);
                    }
                    l->message.assign(msg.data, msg.size);
                  },
                  &out),
              OEMLINK_OK);
    EXPECT_EQ(out.calls, 1);
    return out;
  }

  DriverUnderTest d_{mock_descriptor(), R"({"link_authorize_url":"https://oem.test/consent"})"};
  const oemlink_link_extension* ext_ = nullptr;
};

TEST_F(MockLink, OffersPkceAndBuildsTheConsentUrl) {
  EXPECT_EQ(ext_->flags & OEMLINK_LINK_PKCE_S256, OEMLINK_LINK_PKCE_S256);
  std::string url = authorize("st1", "mock-1-1");
  EXPECT_EQ(url,
            "https://oem.test/consent?response_type=code&client_id=mock&redirect_uri=https%3A%2F%"
            "2Fhost.example%2Flink%2Fmock%2Fcallback&state=st1&code_challenge=" +
                std::string(kChallenge) + "&code_challenge_method=S256&vehicle_id=mock-1-1");
}

TEST_F(MockLink, ACodeGivesATokenThatListsTheCodesCars) {
  authorize("st1");
  Exchanged e = exchange("ok-3", "st1");
  ASSERT_EQ(e.status, OEMLINK_OK) << e.message;
  ASSERT_EQ(e.secrets.size(), 1u);
  EXPECT_EQ(e.secrets[0].first, "access_token");
  EXPECT_EQ(e.secrets[0].second.rfind("mock-at-", 0), 0u);
  Listed l = list(e.secrets);
  ASSERT_EQ(l.status, OEMLINK_OK) << l.message;
  EXPECT_EQ(l.ids, (std::vector<std::string>{"mock-3-1", "mock-3-2", "mock-3-3"}));
  for (const std::string& vin : l.vins) {
    EXPECT_EQ(vin.size(), 17u);
    EXPECT_EQ(vin.find_first_of("IOQ"), std::string::npos);
  }
  EXPECT_NE(l.vins[0], l.vins[1]);
  EXPECT_EQ(l.identifiers[0], R"({"mock_vehicle":"mock-3-1"})");
  // Same code, same cars (a re-consent); a tagged code is another account.
  authorize("st2");
  EXPECT_EQ(list(exchange("ok-3", "st2").secrets).vins, l.vins);
  authorize("st3");
  EXPECT_EQ(list(exchange("ok-1-fleet", "st3").secrets).ids,
            std::vector<std::string>{"mock-fleet-1-1"});
}

TEST_F(MockLink, RefusesWhatAMakerRefuses) {
  authorize("s1");
  EXPECT_EQ(exchange("bad", "s1").message, "authorization code expired");
  authorize("s2");
  EXPECT_THAT(exchange("ok-1", "s2", "not-the-verifier").message, HasSubstr("PKCE"));
  authorize("s3");
  EXPECT_THAT(exchange("ok-1", "s3", kVerifier, "https://evil.example/cb").message,
              HasSubstr("redirect_uri"));
  EXPECT_THAT(exchange("ok-1", "never-started").message, HasSubstr("no consent"));
  authorize("s4");
  EXPECT_THAT(exchange("ok-0", "s4").message, HasSubstr("unknown authorization code"));
  Listed l = list({{"access_token", "mock-at-forged"}});
  EXPECT_EQ(l.status, OEMLINK_ERROR);
  EXPECT_EQ(l.message, "mock: unknown access token");
}

}  // namespace
}  // namespace oemlink::test
