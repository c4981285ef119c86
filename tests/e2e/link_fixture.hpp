// Linking cars end to end with the real pieces: `oemlink run` (inbound listener with the linking
// flow, admin listener, a file sink, dimo.connection_id set) with the tesla or smartcar driver
// pointed at `oemlink-mock-oem tesla|smartcar`; the owner's browser driven over HTTP through
// /link/<driver>/start, the mock's consent page and the callback; the owner's wallet and the
// independent signature checks done by ethers.js; the operator's side through `oemlink
// connections`, `oemlink verify --keys` and the admin API.
#pragma once

#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/inbound_fixture.hpp"
#include "tests/tools/mock_tesla/consent_support.hpp"
#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace oemlink::testing {

namespace json = boost::json;
using mock_oem::testing::HttpAnswer;
using mock_oem::testing::MockTesla;

inline const fs::path kMockOemExe = fs::path(OEMLINK_BINARY_DIR) / "oemlink-mock-oem";
inline const fs::path kEthersTool = kSource / "tools/verify-with-ethers";

// The owner's wallet (a well-known test key; never a real one) and another one.
inline constexpr const char* kOwnerKey =
    "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
inline constexpr const char* kOwnerAddress = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";
inline constexpr const char* kStrangerKey =
    "0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f";
// This integration's connection (integration node) token id: beyond 64 bits on purpose.
inline constexpr const char* kConnectionTokenId = "340282366920938463463374607431768211457";

// The mock Smartcar's built-in cars (tools/mock-oem/smartcar/examples/vehicles.json).
inline constexpr const char* kScVw = "a1d50709-3502-4faa-ba43-a5c7565e6a09";
inline constexpr const char* kScJaguar = "00000000-0000-4000-8000-0000000000aa";
inline constexpr const char* kScFord = "7c8e2f3a-1b4d-4e5f-8a9b-0c1d2e3f4a5b";

// The mock Tesla's account with two cars.
inline constexpr const char* kTeslaAccount = "alice";

struct LinkStarted {
  int status = 0;
  std::string authorize_url, state, cookie;  // cookie: "name=value"
  std::string body;
};

class LinkE2e : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    std::random_device rd;
    auto hex = [&rd] {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
      return std::string(buf);
    };
    admin_token_ = "admin-" + hex() + hex();
    client_secret_ = "cs-" + hex() + hex();
    write("admin.token", admin_token_ + "\n");
    write("secrets/client_secret", client_secret_ + "\n");
    write("secrets/amt", "amt-" + hex() + "\n");
    write("kek.hex", std::string(64, 'c') + "\n");
    fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
    inbound_port_ = free_port();
    admin_port_ = free_port();
  }
  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    if (smartcar_ > 0) {
      kill(smartcar_, SIGKILL);
      waitpid(smartcar_, nullptr, 0);
    }
    if (HasFailure()) {
      std::string l = daemon_log();
      std::cerr << "--- oemlink log (tail) ---\n"
                << (l.size() > 6000 ? l.substr(l.size() - 6000) : l) << "\n";
    }
    tesla_.reset();
    CliTest::TearDown();
  }

  static bool ethers_available() {
    return fs::exists(kEthersTool / "node_modules/ethers") &&
           std::system("node --version >/dev/null 2>&1") == 0;
  }

  // ---- the mock makers --------------------------------------------------------------------

  void start_tesla_mock(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--client-secret", client_secret_, "--account-vins",
                                     std::string(kTeslaAccount) + "=" +
                                         mock_oem::testing::kVinModel3 + "," +
                                         mock_oem::testing::kVinS85};
    args.insert(args.end(), extra.begin(), extra.end());
    tesla_ = std::make_unique<MockTesla>(args);
    ASSERT_TRUE(tesla_->running()) << tesla_->err();
  }
  void start_smartcar_mock() {
    smartcar_ = spawn({"smartcar", "--port", "0", "--client-secret", client_secret_,
                       "--time-format", "ms", "--access-ttl-s", "3600"},
                      kMockOemExe, "smartcar-mock");
    for (int i = 0; i < 1000; ++i) {
      std::string out = slurp(dir_ / "smartcar-mock.out");
      if (auto nl = out.find('\n'); nl != std::string::npos) {
        ASSERT_EQ(out.rfind("listening ", 0), 0u) << out;
        smartcar_port_ = std::stoi(out.substr(10, nl - 10));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the mock Smartcar did not start: " << slurp(dir_ / "smartcar-mock.err");
  }
  std::string smartcar_base() const { return "http://127.0.0.1:" + std::to_string(smartcar_port_); }

  // ---- oemlink ------------------------------------------------------------------------------

  std::string inbound_base() const { return "http://127.0.0.1:" + std::to_string(inbound_port_); }
  std::string admin_base() const { return "http://127.0.0.1:" + std::to_string(admin_port_); }

  // The driver block of the config: the tesla or smartcar driver against its mock.
  std::string tesla_driver() const {
    const std::string base = tesla_->base();
    return "  - name: tesla\n"
           "    library: tesla\n"
           "    mode: poll\n"
           "    poll_interval: 500ms\n"
           "    asleep_interval: 500ms\n"
           "    settings: {client_id: mock-client-id, client_secret: "
           "\"${file:secrets/client_secret}\", auth_base_url: \"" +
           base + "\", authorize_base_url: \"" + base + "\", fleet_api_base_url: \"" + base +
           "/na\"}\n";
  }
  std::string smartcar_driver() const {
    const std::string base = smartcar_base();
    return "  - name: smartcar\n"
           "    library: smartcar\n"
           "    poll_interval: 1s\n"
           "    asleep_interval: 2s\n"
           "    settings: {client_id: mock-client-id, client_secret: "
           "\"${file:secrets/client_secret}\", amt: \"${file:secrets/amt}\", auth_base_url: \"" +
           base + "\", api_base_url: \"" + base + "/v3\", v2_base_url: \"" + base +
           "/v2.0\", connect_base_url: \"" + base +
           "\", request_timeout: 5s, request_budget_capacity: 1000}\n";
  }

  fs::path write_config(const std::string& driver_block, const std::string& linking = "") {
    const std::string in = std::to_string(inbound_port_);
    std::string y =
        "data_dir: data\n"
        "logging: {level: debug}\n"
        "http: {allow_plain_http: true}\n"
        "schedule: {shutdown_timeout: 3s, jitter: 0, max_backoff: 2s}\n"
        "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
        "dimo: {connection_id: \"" +
        std::string(kConnectionTokenId) +
        "\", manufacturer_nodes: {Tesla: \"137\", VOLKSWAGEN: \"41\", JAGUAR: \"42\"}}\n" +
        (linking.empty() ? "" : "linking: {" + linking + "}\n") +
        "listeners:\n"
        "  inbound: {port: " +
        in + ", public_url: \"http://127.0.0.1:" + in +
        "\"}\n"
        "  admin: {port: " +
        std::to_string(admin_port_) +
        ", token: '${file:admin.token}'}\n"
        "drivers:\n" +
        driver_block + "sinks:\n  - {name: events, type: file, path: events.jsonl}\n";
    cfg_ = write("oemlink.yaml", y);
    return cfg_;
  }

  void start_daemon() {
    ASSERT_LT(daemon_, 0);
    ++runs_;
    daemon_ = spawn({"run", "--config", cfg_.string()}, kExe, "daemon-" + std::to_string(runs_));
    ASSERT_TRUE(wait_for_listener(inbound_port_, daemon_)) << daemon_log();
    ASSERT_TRUE(wait_for_listener(admin_port_, daemon_)) << daemon_log();
  }
  Result stop_daemon() {
    kill(daemon_, SIGTERM);
    Result r = wait_for(daemon_, "daemon-" + std::to_string(runs_));
    daemon_ = -1;
    return r;
  }
  std::string daemon_log() const {
    std::string all;
    for (int i = 1; i <= runs_; ++i)
      all += slurp(dir_ / ("daemon-" + std::to_string(i) + ".out")) +
             slurp(dir_ / ("daemon-" + std::to_string(i) + ".err"));
    return all;
  }

  // `oemlink connections ARGS --config oemlink.yaml`; the admin token is never printed.
  Result connections(std::vector<std::string> args) {
    args.insert(args.begin(), "connections");
    args.insert(args.end(), {"--config", cfg_.string()});
    Result r = run(args);
    EXPECT_EQ(r.out.find(admin_token_), std::string::npos);
    EXPECT_EQ(r.err.find(admin_token_), std::string::npos);
    return r;
  }
  // One connection as `oemlink connections show ID --json` prints it.
  json::object show(const std::string& id) {
    Result r = connections({"show", id, "--json"});
    EXPECT_EQ(r.rc, 0) << r.err;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
  std::string state_of(const std::string& id) {
    json::object o = show(id);
    const json::value* s = o.if_contains("state");
    return s && s->is_string() ? std::string(s->as_string()) : "";
  }
  HttpAnswer admin(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& token = "-") {
    std::vector<std::string> h = {"Content-Type: application/json"};
    if (token == "-")
      h.push_back("Authorization: Bearer " + admin_token_);
    else if (!token.empty())
      h.push_back("Authorization: Bearer " + token);
    return mock_oem::testing::http(method, admin_base() + path, body, h);
  }

  // ---- the owner's browser ------------------------------------------------------------------

  LinkStarted start_link(const std::string& driver, const std::string& query = "") {
    HttpAnswer a = mock_oem::testing::http(
        "GET", inbound_base() + "/link/" + driver + "/start" + (query.empty() ? "" : "?" + query),
        "", {"Accept: application/json"});
    LinkStarted s;
    s.status = static_cast<int>(a.status);
    s.body = a.body;
    if (a.status != 302) return s;
    s.authorize_url = a.headers["location"];
    s.state = mock_oem::testing::query_params(s.authorize_url)["state"];
    const std::string cookie = a.headers["set-cookie"];
    s.cookie = cookie.substr(0, cookie.find(';'));
    return s;
  }
  // The maker's redirect back to oemlink, followed with the browser's cookie.
  HttpAnswer follow_callback(const std::string& location, const std::string& cookie) {
    EXPECT_EQ(location.rfind(inbound_base() + "/link/", 0), 0u) << location;
    std::vector<std::string> h = {"Accept: application/json"};
    if (!cookie.empty()) h.push_back("Cookie: " + cookie);
    return mock_oem::testing::http("GET", location, "", h);
  }
  // Tesla's consent page: the decision's redirect (Location).
  std::string tesla_consent(const std::string& authorize_url, const std::string& decision,
                            const std::string& account = kTeslaAccount) {
    EXPECT_EQ(authorize_url.rfind(tesla_->base() + "/oauth2/v3/authorize?", 0), 0u)
        << authorize_url;
    HttpAnswer page = mock_oem::testing::http("GET", authorize_url);
    EXPECT_EQ(page.status, 200) << page.body;
    HttpAnswer decided = mock_oem::testing::decide(
        *tesla_, mock_oem::testing::request_id(page.body), decision, account);
    EXPECT_EQ(decided.status, 302) << decided.body;
    return decided.headers["location"];
  }
  // Smartcar Connect: the owner ticks `picked` (Smartcar vehicle ids) or denies.
  std::string smartcar_consent(const std::string& authorize_url, const std::string& decision,
                               const std::vector<std::string>& picked) {
    EXPECT_EQ(authorize_url.rfind(smartcar_base() + "/oauth/authorize?", 0), 0u) << authorize_url;
    HttpAnswer page = mock_oem::testing::http("GET", authorize_url);
    EXPECT_EQ(page.status, 200) << page.body;
    std::smatch m;
    std::string request, user;
    if (std::regex_search(page.body, m, std::regex(R"re(name="request" value="([^"]+)")re")))
      request = m[1];
    if (std::regex_search(page.body, m, std::regex(R"re(name="user" value="([^"]+)")re")))
      user = m[1];
    EXPECT_FALSE(request.empty()) << page.body;
    std::string body = "decision=" + decision + "&request=" + request + "&user=" + user;
    for (const std::string& v : picked) body += "&vehicle=" + v;
    HttpAnswer decided =
        mock_oem::testing::http("POST", smartcar_base() + "/oauth/authorize/decision", body,
                                {"Content-Type: application/x-www-form-urlencoded"});
    EXPECT_EQ(decided.status, 302) << decided.body;
    return decided.headers["location"];
  }

  static json::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
  static std::string str(const json::value& v, const char* key) {
    const json::value* m = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return m && m->is_string() ? std::string(m->as_string()) : "";
  }

  HttpAnswer post_mint(const std::string& driver, const std::string& grant,
                       const json::object& body) {
    return mock_oem::testing::http("POST", inbound_base() + "/link/" + driver + "/mint",
                                   json::serialize(body),
                                   {"Content-Type: application/json", "Accept: application/json",
                                    "Authorization: Bearer " + grant});
  }

  // ---- ethers.js: the owner's wallet and the independent verifier ---------------------------

  json::array ethers(const json::array& requests) {
    const fs::path in = write("ethers-in.json", json::serialize(requests));
    const fs::path out = dir_ / "ethers-out.json";
    const std::string cmd = "node '" + (kEthersTool / "sign-recover-typed-data.mjs").string() +
                            "' '" + in.string() + "' > '" + out.string() + "' 2>&1";
    (void)std::system(cmd.c_str());
    boost::system::error_code ec;
    json::value v = json::parse(slurp(out), ec);
    EXPECT_FALSE(ec) << slurp(out);
    return !ec && v.is_array() ? v.as_array() : json::array{};
  }
  std::string ethers_sign(const char* key, const json::value& typed_data) {
    json::array a = ethers({json::object{{"sign_with", key}, {"typed_data", typed_data}}});
    return a.empty() ? "" : str(a[0], "signature");
  }
  std::string ethers_signer(const json::value& typed_data, const json::value& signature) {
    json::array a = ethers({json::object{{"recover", signature}, {"typed_data", typed_data}}});
    return a.empty() ? "" : str(a[0], "signer") + str(a[0], "error");
  }

  // ---- events -------------------------------------------------------------------------------

  fs::path events_file() const { return dir_ / "data/events.jsonl"; }
  // `oemlink verify --keys`: "ok" lines naming each signer and its connection.
  Result verify_keys() {
    return run({"verify", events_file().string(), "--keys", "--config", cfg_.string()});
  }
  // Lines of `verify --keys` that say an event of `connection` was signed by `address`.
  static size_t verified_for(const std::string& out, const std::string& address,
                             const std::string& connection) {
    size_t n = 0;
    const std::string needle = "signer " + address + " (connection " + connection + ",";
    for (size_t at = 0; (at = out.find(needle, at)) != std::string::npos; ++at) ++n;
    return n;
  }
  // The events of the file sink, one object per complete line.
  std::vector<json::object> events() const {
    std::vector<json::object> out;
    std::ifstream in(events_file());
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (!ec && v.is_object()) out.push_back(std::move(v.as_object()));
    }
    return out;
  }

  // Polls `pred` every 100 ms until it holds or `limit` passes.
  template <class Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred();
  }

  std::string admin_token_, client_secret_;
  uint16_t inbound_port_ = 0, admin_port_ = 0;
  fs::path cfg_;
  pid_t daemon_ = -1, smartcar_ = -1;
  int smartcar_port_ = 0, runs_ = 0;
  std::unique_ptr<MockTesla> tesla_;
};

}  // namespace oemlink::testing
