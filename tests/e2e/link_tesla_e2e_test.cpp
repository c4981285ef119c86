// Issue 14 end to end against the mock Tesla: an owner links an account with two cars through
// the real daemon's /link/tesla flow and the mock's consent page; both cars are active, sign their
// events with their new device keys (checked with `oemlink verify --keys`), get a complete mint
// request whose signatures ethers.js recovers, and carry their token ids once recorded. Then the
// lifecycle through `oemlink connections` (pause, resume, re-authentication after the maker voided
// the tokens, revoke) and every refusal of the flow.
#include "tests/e2e/link_fixture.hpp"
#include "tests/e2e/status_metric.hpp"

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

// Data requests the mock Tesla billed for a car (vehicle_data polls, 408s included).
uint64_t car_data(MockTesla& mock, const std::string& vin) {
  const json::object s = mock.stats();
  const json::value* cars = s.if_contains("cars");
  const json::value* car = cars && cars->is_object() ? cars->as_object().if_contains(vin) : nullptr;
  const json::value* n = car && car->is_object() ? car->as_object().if_contains("data") : nullptr;
  return n && n->is_number() ? n->to_number<uint64_t>() : 0;
}

class TeslaLinkE2e : public LinkE2e {
 protected:
  void start(const std::string& linking = "") {
    start_tesla_mock();
    write_config(tesla_driver(), linking);
    start_daemon();
  }
  // start → consent (approve as alice) → callback; the callback's answer.
  HttpAnswer link(const std::string& query = "", std::string* state = nullptr,
                  std::string* callback = nullptr, std::string* cookie = nullptr) {
    LinkStarted s = start_link("tesla", query);
    EXPECT_EQ(s.status, 302) << s.body;
    if (s.status != 302) return {};
    const std::string location = tesla_consent(s.authorize_url, "approve");
    if (state) *state = s.state;
    if (callback) *callback = location;
    if (cookie) *cookie = s.cookie;
    return follow_callback(location, s.cookie);
  }
  // The linked connections of a callback's answer, by VIN.
  static std::map<std::string, json::object> by_vin(const json::object& answer) {
    std::map<std::string, json::object> out;
    if (const json::value* cs = answer.if_contains("connections"); cs && cs->is_array())
      for (const json::value& c : cs->as_array()) out[str(c, "vin")] = c.as_object();
    return out;
  }
};

TEST_F(TeslaLinkE2e, AnOwnerLinksTwoCarsThatSignWithTheirNewKeysAndGetACompleteMintRequest) {
  if (!ethers_available()) GTEST_SKIP() << "ethers.js not installed (tools/install-deps.sh)";
  start();
  HttpAnswer cb = link(std::string("owner=") + kOwnerAddress);
  ASSERT_EQ(cb.status, 200) << cb.body;
  const json::object answer = parse_object(cb.body);
  EXPECT_EQ(str(answer, "driver"), "tesla");
  EXPECT_TRUE(answer.at("refused").as_array().empty()) << cb.body;
  auto cars = by_vin(answer);
  ASSERT_EQ(cars.size(), 2u) << cb.body;
  ASSERT_TRUE(cars.count(mock_oem::testing::kVinModel3) && cars.count(mock_oem::testing::kVinS85))
      << cb.body;
  const json::object& m3 = cars[mock_oem::testing::kVinModel3];
  const json::object& s85 = cars[mock_oem::testing::kVinS85];
  const std::string id3 = str(m3, "connection_id"), id85 = str(s85, "connection_id");
  const std::string addr3 = str(m3, "device_address"), addr85 = str(s85, "device_address");
  ASSERT_EQ(addr3.size(), 42u);
  ASSERT_EQ(addr85.size(), 42u);
  EXPECT_NE(addr3, addr85);
  for (const json::object* c : {&m3, &s85}) {
    EXPECT_EQ(str(*c, "state"), "active");
    const json::value& mint = c->at("mint");
    ASSERT_TRUE(mint.is_object()) << cb.body;
    EXPECT_EQ(str(mint, "path"), "vehicle_and_synthetic_device") << json::serialize(mint);
    EXPECT_EQ(str(mint, "device_address"), str(*c, "device_address"));
    EXPECT_EQ(str(mint, "owner"), kOwnerAddress);
  }
  const std::string grant = str(answer, "mint_grant");
  ASSERT_FALSE(grant.empty());

  // Both active, seen by the admin API and by the command line.
  for (const std::string& id : {id3, id85}) {
    HttpAnswer a = admin("GET", "/admin/connections/" + id);
    ASSERT_EQ(a.status, 200) << a.body;
    const json::object v = parse_object(a.body);
    EXPECT_EQ(str(v, "state"), "active");
    EXPECT_EQ(str(v, "source"), "linked");
    EXPECT_EQ(str(v, "device_address"), id == id3 ? addr3 : addr85);
  }
  Result list = connections({"list", "--json"});
  ASSERT_EQ(list.rc, 0) << list.err;
  const json::object listed = parse_object(list.out);
  size_t active = 0;
  for (const json::value& c : listed.at("connections").as_array())
    if ((str(c, "id") == id3 || str(c, "id") == id85) && str(c, "state") == "active") ++active;
  EXPECT_EQ(active, 2u) << list.out;

  // Their first events, signed by the new device keys: `verify --keys` knows linked connections.
  Result v;
  EXPECT_TRUE(eventually(
      [&] {
        v = verify_keys();
        return v.rc == 0 && verified_for(v.out, addr3, id3) > 0 &&
               verified_for(v.out, addr85, id85) > 0;
      },
      20s))
      << v.out << v.err;

  // The owner signs the typed data with ethers; oemlink answers the complete mint request.
  const std::string owner_sig = ethers_sign(kOwnerKey, m3.at("mint").at("owner_typed_data"));
  ASSERT_EQ(owner_sig.size(), 132u) << owner_sig;
  const json::object mint_body{
      {"connection_id", id3}, {"owner", kOwnerAddress}, {"owner_signature", owner_sig}};
  HttpAnswer minted = post_mint("tesla", grant, mint_body);
  ASSERT_EQ(minted.status, 200) << minted.body;
  const json::object req = parse_object(minted.body);
  EXPECT_EQ(str(req, "function"), "mintVehicleAndSdWithDeviceDefinitionSign");
  EXPECT_EQ(str(req, "input_struct"), "MintVehicleAndSdWithDdInput");
  const json::object& args = req.at("args").as_object();
  EXPECT_EQ(str(args, "syntheticDeviceAddr"), addr3);
  EXPECT_EQ(str(args, "owner"), kOwnerAddress);
  EXPECT_EQ(str(args, "connectionId"), kConnectionTokenId);
  EXPECT_EQ(str(args, "manufacturerNode"), "137");
  // ethers, not our code, recovers the device key from the device's typed data and the owner's
  // from the owner's.
  EXPECT_EQ(ethers_signer(req.at("device_typed_data"), args.at("syntheticDeviceSig")), addr3);
  EXPECT_EQ(ethers_signer(req.at("owner_typed_data"), args.at("vehicleOwnerSig")), kOwnerAddress);
  // The prepared device signature of the callback is that same key's too.
  EXPECT_EQ(
      ethers_signer(m3.at("mint").at("device_typed_data"), m3.at("mint").at("device_signature")),
      addr3);
  // Asking again returns the stored request unchanged, and the admin API shows it.
  HttpAnswer again = post_mint("tesla", grant, mint_body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, minted.body);
  EXPECT_EQ(
      json::serialize(parse_object(admin("GET", "/admin/connections/" + id3).body).at("mint")),
      json::serialize(req));

  // An owner signature made by another key is refused.
  const std::string stranger = ethers_sign(kStrangerKey, s85.at("mint").at("owner_typed_data"));
  HttpAnswer refused =
      post_mint("tesla", grant,
                {{"connection_id", id85}, {"owner", kOwnerAddress}, {"owner_signature", stranger}});
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find(kOwnerAddress), std::string::npos) << refused.body;
  EXPECT_TRUE(parse_object(admin("GET", "/admin/connections/" + id85).body).at("mint").is_null());

  // Minted: the token ids recorded from the command line; new events carry them.
  Result set = connections({"set-tokens", id3, "--vehicle", "5003", "--synthetic", "6003"});
  ASSERT_EQ(set.rc, 0) << set.err;
  const std::string producer_suffix = ":6003", subject_suffix = ":5003";
  EXPECT_TRUE(eventually(
      [&] {
        for (const json::object& e : events())
          if (str(e, "producer").ends_with(producer_suffix) &&
              str(e, "subject").ends_with(subject_suffix))
            return true;
        return false;
      },
      15s));
  v = verify_keys();
  EXPECT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_GT(verified_for(v.out, addr3, id3), 0u) << v.out;

  Result d = stop_daemon();
  EXPECT_EQ(d.rc, 0) << d.err;
  const std::string logs = daemon_log();
  for (const std::string& secret : {grant, owner_sig, admin_token_, client_secret_})
    EXPECT_EQ(logs.find(secret), std::string::npos);
}

TEST_F(TeslaLinkE2e, PauseResumeReauthenticateAndRevokeLiveThroughTheCli) {
  start();
  HttpAnswer cb = link();
  ASSERT_EQ(cb.status, 200) << cb.body;
  auto cars = by_vin(parse_object(cb.body));
  ASSERT_EQ(cars.size(), 2u) << cb.body;
  const std::string vin3 = mock_oem::testing::kVinModel3, vin85 = mock_oem::testing::kVinS85;
  const std::string id3 = str(cars[vin3], "connection_id"),
                    id85 = str(cars[vin85], "connection_id");
  const std::string addr3 = str(cars[vin3], "device_address");
  const int64_t child3 = cars[vin3].at("key_child").to_number<int64_t>();
  EXPECT_TRUE(cars[vin3].at("mint").is_null());  // no owner named at the start
  ASSERT_TRUE(eventually([&] {
    return car_data(*tesla_, vin3) > 0 && car_data(*tesla_, vin85) > 0;
  })) << tesla_->err();

  // Pause: the mock serves that car nothing more, while the other one goes on.
  Result r = connections({"pause", id3, "--reason", "owner asked"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of(id3), "paused");
  std::this_thread::sleep_for(1s);  // a poll in flight lands
  const uint64_t paused3 = car_data(*tesla_, vin3), other85 = car_data(*tesla_, vin85);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(car_data(*tesla_, vin3), paused3);
  EXPECT_GT(car_data(*tesla_, vin85), other85);

  r = connections({"resume", id3});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of(id3), "active");
  EXPECT_TRUE(eventually([&] { return car_data(*tesla_, vin3) > paused3; }));

  // The owner revokes oemlink's access at Tesla: the tokens die, the cars need re-authentication.
  HttpAnswer revoked =
      mock_oem::testing::http("POST", tesla_->base() + "/mock/revoke", R"({"account":"alice"})",
                              {"Content-Type: application/json"});
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  ASSERT_TRUE(eventually([&] { return state_of(id3) == "needs_reauth"; }, 20s)) << show(id3);

  // Re-authentication for that car only: the same connection, key child and device address.
  LinkStarted s = start_link("tesla", "connection=" + id3);
  ASSERT_EQ(s.status, 302) << s.body;
  HttpAnswer re = follow_callback(tesla_consent(s.authorize_url, "approve"), s.cookie);
  ASSERT_EQ(re.status, 200) << re.body;
  const json::object reanswer = parse_object(re.body);
  ASSERT_EQ(reanswer.at("connections").as_array().size(), 1u) << re.body;
  const json::value& again = reanswer.at("connections").as_array()[0];
  EXPECT_EQ(str(again, "connection_id"), id3) << re.body;
  EXPECT_EQ(str(again, "device_address"), addr3);
  EXPECT_EQ(again.at("key_child").to_number<int64_t>(), child3);
  ASSERT_TRUE(eventually([&] { return state_of(id3) == "active"; })) << show(id3);
  const uint64_t before = car_data(*tesla_, vin3);
  EXPECT_TRUE(eventually([&] { return car_data(*tesla_, vin3) > before; })) << show(id3);
  EXPECT_EQ(admin("GET", "/admin/connections/counts").status, 200);
  EXPECT_EQ(parse_object(admin("GET", "/admin/connections?state=active").body).at("total"), 1);

  // Revoke: no more traffic, its tokens gone from the secret store and from every file.
  r = connections({"revoke", id3, "--reason", "sold"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of(id3), "revoked");
  std::this_thread::sleep_for(1s);
  const uint64_t at_revoke = car_data(*tesla_, vin3);
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(car_data(*tesla_, vin3), at_revoke);
  Result secrets = run({"secrets", "list", id3, "--config", cfg_.string()});
  EXPECT_EQ(secrets.rc, 0) << secrets.err;
  EXPECT_NE(secrets.out.find("0 secret(s) for connection " + id3), std::string::npos)
      << secrets.out;

  Result d = stop_daemon();
  EXPECT_EQ(d.rc, 0) << d.err;
  // `strings` over the data dir: no token the mock ever issued is stored in the clear anywhere.
  const HttpAnswer issued = mock_oem::testing::http("GET", tesla_->base() + "/mock/tokens");
  std::vector<std::string> tokens;
  const json::value issued_json = issued.json();
  for (const json::value& t : issued_json.at("tokens").as_array())
    for (const char* k : {"access_token", "refresh_token"})
      if (std::string v = str(t, k); !v.empty()) tokens.push_back(v);
  ASSERT_GE(tokens.size(), 4u);
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = slurp(e.path());
    for (const std::string& t : tokens)
      EXPECT_EQ(bytes.find(t), std::string::npos) << e.path() << " holds a token";
  }
  const std::string logs = daemon_log();
  for (const std::string& t : tokens) EXPECT_EQ(logs.find(t), std::string::npos);
  // A revoked connection takes no secret again.
  write("rt.txt", "NA_not-a-real-token\n");
  Result set = run({"secrets", "set", id3, "refresh_token", "--file", (dir_ / "rt.txt").string(),
                    "--config", cfg_.string()});
  EXPECT_EQ(set.rc, 1);
  EXPECT_NE(set.err.find("connection " + id3 + " is revoked"), std::string::npos) << set.err;
}

TEST_F(TeslaLinkE2e, ReplayedForgedDeniedAndAlreadyLinkedCreateNothing) {
  start();
  std::string state, callback, cookie;
  HttpAnswer first = link("", &state, &callback, &cookie);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(parse_object(first.body).at("connections").as_array().size(), 2u);
  const auto total = [&] {
    return parse_object(admin("GET", "/admin/connections").body).at("total").to_number<int64_t>();
  };
  ASSERT_EQ(total(), 2);

  // Replayed: the same callback, same browser.
  HttpAnswer replay = follow_callback(callback, cookie);
  EXPECT_EQ(replay.status, 400) << replay.body;
  EXPECT_NE(replay.body.find("unknown or already used link state"), std::string::npos)
      << replay.body;

  // Forged: a state oemlink never issued.
  LinkStarted s = start_link("tesla");
  ASSERT_EQ(s.status, 302);
  std::string forged = callback;
  forged.replace(forged.find(state), state.size(), std::string(state.size(), 'A'));
  HttpAnswer f = follow_callback(forged, s.cookie);
  EXPECT_EQ(f.status, 400) << f.body;
  EXPECT_NE(f.body.find("unknown or already used link state"), std::string::npos) << f.body;

  // Another browser: a real state and code without the start's cookie.
  const std::string other = tesla_consent(s.authorize_url, "approve");
  HttpAnswer nocookie = follow_callback(other, "");
  EXPECT_EQ(nocookie.status, 400) << nocookie.body;

  // Denied at the consent page.
  LinkStarted d = start_link("tesla");
  HttpAnswer denied = follow_callback(tesla_consent(d.authorize_url, "deny"), d.cookie);
  EXPECT_EQ(denied.status, 400) << denied.body;
  EXPECT_NE(denied.body.find("denied"), std::string::npos) << denied.body;

  // The same account again: both cars are linked already; nothing new.
  HttpAnswer twice = link();
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_NE(twice.body.find("already linked as connection"), std::string::npos) << twice.body;
  EXPECT_EQ(total(), 2);

  // The admin API without or with a wrong token.
  const std::string wrong = "wrong-" + admin_token_.substr(6);
  EXPECT_EQ(admin("GET", "/admin/connections", "", "").status, 401);
  HttpAnswer w = admin("GET", "/admin/connections", "", wrong);
  EXPECT_EQ(w.status, 401);
  EXPECT_EQ(w.body.find(wrong), std::string::npos);
  EXPECT_EQ(admin("POST", "/admin/connections/x/revoke", "", wrong).status, 401);

  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string logs = daemon_log();
  for (const std::string& secret : {admin_token_, wrong, state, s.state, client_secret_})
    EXPECT_EQ(logs.find(secret), std::string::npos) << secret;
  EXPECT_EQ(logs.find(cookie.substr(cookie.find('=') + 1)), std::string::npos);
  const std::string status = slurp(dir_ / "data/status.json");
  for (const char* reason : {"unknown_state", "wrong_browser", "denied", "no_new_car"})
    EXPECT_GT(status_metric(status, "oemlink_link_refused_total", {{"reason", reason}}), 0)
        << reason;
}

// linking.state_ttl at its minimum (1 minute); the daemon's clocks are moved two minutes on by
// libfaketime while the owner is at the consent page, so the test does not wait a minute.
TEST_F(TeslaLinkE2e, AnExpiredStateIsRefused) {
  const char* lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  if (!fs::exists(lib)) GTEST_SKIP() << "libfaketime not installed (tools/install-deps.sh)";
  const fs::path offset = write("faketime.rc", "+0\n");
  env_["LD_PRELOAD"] = lib;
  env_["FAKETIME_TIMESTAMP_FILE"] = offset.string();
  env_["FAKETIME_NO_CACHE"] = "1";
  // Under the sanitizer presets ASan wants its runtime first; libfaketime only wraps clocks.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env_["ASAN_OPTIONS"] =
      std::string(asan ? asan : "") + (asan ? ":" : "") + "verify_asan_link_order=0";
  start("state_ttl: 1m");
  env_.clear();  // the CLI and the mocks keep the real clock
  LinkStarted s = start_link("tesla");
  ASSERT_EQ(s.status, 302) << s.body;
  const std::string location = tesla_consent(s.authorize_url, "approve");
  write("faketime.rc", "+120\n");
  HttpAnswer late = follow_callback(location, s.cookie);
  EXPECT_EQ(late.status, 400) << late.body;
  EXPECT_NE(late.body.find("expired"), std::string::npos) << late.body;
  EXPECT_EQ(parse_object(admin("GET", "/admin/connections").body).at("total"), 0);
}

}  // namespace
}  // namespace oemlink::testing
