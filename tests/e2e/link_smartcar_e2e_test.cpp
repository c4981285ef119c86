// Issue 14 end to end against the mock Smartcar: the owner picks two of the user's three cars at
// Smartcar Connect's consent page; both become active connections signing their events with their
// new device keys (`oemlink verify --keys`); one whose vehicle NFT exists takes the
// synthetic-device mint path, whose signatures ethers.js recovers; another key's owner signature
// is refused; a denied consent creates nothing.
#include "tests/e2e/link_fixture.hpp"

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kVinVw = "WVGZZZE2ZPP012345";
constexpr const char* kVinJaguar = "SADHA2B19M1F00042";
constexpr const char* kVinFord = "1FADP3F20KL123456";

class SmartcarLinkE2e : public LinkE2e {
 protected:
  void start() {
    start_smartcar_mock();
    write_config(smartcar_driver());
    start_daemon();
  }
};

TEST_F(SmartcarLinkE2e, TwoOfThreeCarsLinkedAndAnExistingVehicleMintsItsSyntheticDevice) {
  if (!ethers_available()) GTEST_SKIP() << "ethers.js not installed (tools/install-deps.sh)";
  start();
  LinkStarted s = start_link("smartcar", std::string("owner=") + kOwnerAddress);
  ASSERT_EQ(s.status, 302) << s.body;
  HttpAnswer cb =
      follow_callback(smartcar_consent(s.authorize_url, "approve", {kScVw, kScJaguar}), s.cookie);
  ASSERT_EQ(cb.status, 200) << cb.body;
  const json::object answer = parse_object(cb.body);
  std::map<std::string, json::object> cars;
  for (const json::value& c : answer.at("connections").as_array())
    cars[str(c, "vin")] = c.as_object();
  ASSERT_EQ(cars.size(), 2u) << cb.body;
  ASSERT_TRUE(cars.count(kVinVw) && cars.count(kVinJaguar)) << cb.body;
  EXPECT_EQ(cars.count(kVinFord), 0u);
  const std::string vw = str(cars[kVinVw], "connection_id"),
                    jaguar = str(cars[kVinJaguar], "connection_id");
  const std::string vw_addr = str(cars[kVinVw], "device_address"),
                    jaguar_addr = str(cars[kVinJaguar], "device_address");
  EXPECT_EQ(str(cars[kVinVw], "vehicle_id"), kScVw);
  for (auto& [vin, c] : cars) {
    EXPECT_EQ(str(c, "state"), "active") << vin;
    EXPECT_EQ(str(c.at("mint"), "path"), "vehicle_and_synthetic_device") << cb.body;
  }
  const std::string grant = str(answer, "mint_grant");
  ASSERT_FALSE(grant.empty());
  Result list = connections({"list", "--json"});
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_EQ(parse_object(list.out).at("total"), 2) << list.out;

  Result v;
  EXPECT_TRUE(eventually(
      [&] {
        v = verify_keys();
        return v.rc == 0 && verified_for(v.out, vw_addr, vw) > 0 &&
               verified_for(v.out, jaguar_addr, jaguar) > 0;
      },
      20s))
      << v.out << v.err;

  // The VW's vehicle NFT exists (token 777): the synthetic-device path, prepared without a
  // signature, then completed with the owner's.
  const json::object ask{
      {"connection_id", vw}, {"owner", kOwnerAddress}, {"vehicle_token_id", 777}};
  HttpAnswer prepared = post_mint("smartcar", grant, ask);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  const json::object typed = parse_object(prepared.body);
  EXPECT_EQ(str(typed, "path"), "synthetic_device") << prepared.body;
  EXPECT_EQ(str(typed.at("device_typed_data"), "primaryType"), "MintSyntheticDeviceSign");
  EXPECT_EQ(ethers_signer(typed.at("device_typed_data"), typed.at("device_signature")), vw_addr);

  json::object signed_body = ask;
  signed_body["owner_signature"] = ethers_sign(kOwnerKey, typed.at("owner_typed_data"));
  HttpAnswer minted = post_mint("smartcar", grant, signed_body);
  ASSERT_EQ(minted.status, 200) << minted.body;
  const json::object req = parse_object(minted.body);
  EXPECT_EQ(str(req, "function"), "mintSyntheticDeviceSign");
  EXPECT_EQ(str(req, "input_struct"), "MintSyntheticDeviceInput");
  const json::object& args = req.at("args").as_object();
  EXPECT_EQ(str(args, "vehicleNode"), "777");
  EXPECT_EQ(str(args, "connectionId"), kConnectionTokenId);
  EXPECT_EQ(str(args, "syntheticDeviceAddr"), vw_addr);
  EXPECT_EQ(ethers_signer(req.at("device_typed_data"), args.at("syntheticDeviceSig")), vw_addr);
  EXPECT_EQ(ethers_signer(req.at("owner_typed_data"), args.at("vehicleOwnerSig")), kOwnerAddress);
  HttpAnswer again = post_mint("smartcar", grant, signed_body);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, minted.body);

  // The Jaguar: its owner's typed data signed by another key.
  json::object jag{{"connection_id", jaguar}, {"owner", kOwnerAddress}, {"vehicle_token_id", 778}};
  HttpAnswer jt = post_mint("smartcar", grant, jag);
  ASSERT_EQ(jt.status, 200) << jt.body;
  jag["owner_signature"] = ethers_sign(kStrangerKey, parse_object(jt.body).at("owner_typed_data"));
  HttpAnswer refused = post_mint("smartcar", grant, jag);
  EXPECT_EQ(refused.status, 422) << refused.body;
  // A grant is bound to the connections it was given for.
  HttpAnswer other = post_mint("smartcar", "not-a-grant", ask);
  EXPECT_EQ(other.status, 401) << other.body;

  // A denied consent creates nothing.
  LinkStarted d = start_link("smartcar");
  HttpAnswer denied = follow_callback(smartcar_consent(d.authorize_url, "deny", {}), d.cookie);
  EXPECT_EQ(denied.status, 400) << denied.body;
  EXPECT_EQ(parse_object(admin("GET", "/admin/connections").body).at("total"), 2);

  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string logs = daemon_log();
  for (const std::string& secret : {grant, admin_token_, client_secret_})
    EXPECT_EQ(logs.find(secret), std::string::npos);
}

}  // namespace
}  // namespace oemlink::testing
