#include "tests/e2e/tesla_e2e_fixture.hpp"

#include "core/common/data_dir.hpp"
#include "core/config/config.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/secret_access.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <set>

namespace oemlink::testing {

const TeslaCar& car_s85() {
  static const TeslaCar car{"s85", mock_oem::testing::kVinS85, "1492931365719407", 1};
  return car;
}
const TeslaCar& car_s60() {
  static const TeslaCar car{"s60", mock_oem::testing::kVinS60, "1492932717794313", 2};
  return car;
}
const TeslaCar& car_model3() {
  static const TeslaCar car{"model3", mock_oem::testing::kVinModel3, "123", 3};
  return car;
}

void TeslaE2eTest::SetUp() {
  CliTest::SetUp();
  write("kek.hex", std::string(64, 'b') + "\n");
  fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
}

void TeslaE2eTest::TearDown() {
  if (oemlink_ > 0) kill_oemlink();
  if (mock_ && mock_->running() && !HasFatalFailure()) expect_no_token_leaks();
  if (HasFailure() && mock_)
    std::cerr << "--- mock stderr (tail) ---\n"
              <<
        [&] {
          std::string e = mock_->err();
          return e.size() > 4000 ? e.substr(e.size() - 4000) : e;
        }() << "\n";
  if (HasFailure()) {
    std::string l = oemlink_logs();
    std::cerr << "--- oemlink logs (tail) ---\n"
              << (l.size() > 8000 ? l.substr(l.size() - 8000) : l) << "\n";
  }
  mock_.reset();
  CliTest::TearDown();
}

void TeslaE2eTest::start_mock(std::vector<std::string> args) {
  if (mock_port_) args.insert(args.end(), {"--port", std::to_string(mock_port_)});
  mock_ = std::make_unique<MockTesla>(std::move(args));
  ASSERT_TRUE(mock_->running()) << mock_->err();
}

HttpAnswer TeslaE2eTest::mock_post(const std::string& path, const std::string& body) {
  HttpAnswer a = mock_oem::testing::http("POST", mock_->base() + path, body,
                                         {"Content-Type: application/json"});
  EXPECT_EQ(a.status, 200) << path << " " << a.body;
  return a;
}

json::object TeslaE2eTest::stats() {
  return mock_->stats();
}

uint64_t TeslaE2eTest::requests(const json::object& stats, const std::string& endpoint,
                                const std::string& status) {
  const json::value* reqs = stats.if_contains("requests");
  const json::value* by =
      reqs && reqs->is_object() ? reqs->as_object().if_contains("by_endpoint") : nullptr;
  const json::value* e = by && by->is_object() ? by->as_object().if_contains(endpoint) : nullptr;
  if (!e || !e->is_object()) return 0;
  uint64_t n = 0;
  for (const auto& [code, count] : e->as_object())
    if (status.empty() || code == status) n += count.to_number<uint64_t>();
  return n;
}

std::vector<json::object> TeslaE2eTest::issued_tokens() {
  HttpAnswer a = mock_oem::testing::http("GET", mock_->base() + "/mock/tokens");
  EXPECT_EQ(a.status, 200) << a.body;
  std::vector<json::object> out;
  if (a.status != 200) return out;
  const json::value doc = a.json();
  for (const auto& t : doc.as_object().at("tokens").as_array()) out.push_back(t.as_object());
  return out;
}

fs::path TeslaE2eTest::write_config(const TeslaRun& run) {
  const std::string base = mock_base();
  std::string y =
      "data_dir: data\n"
      "logging: {level: " +
      run.log_level +
      "}\n"
      "http: {allow_plain_http: true}\n"
      "schedule: {shutdown_timeout: 3s, jitter: 0, max_backoff: 2s}\n"
      "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
      "drivers:\n"
      "  - name: tesla\n"
      "    library: tesla\n"
      "    mode: " +
      run.mode +
      "\n"
      "    isolation: " +
      run.isolation +
      "\n"
      "    poll_interval: " +
      run.poll_interval +
      "\n"
      "    asleep_interval: " +
      run.poll_interval +
      "\n"
      "    settings:\n"
      "      client_id: mock-client-id\n"
      "      auth_base_url: \"" +
      base +
      "\"\n"
      "      fleet_api_base_url: \"" +
      (run.fleet_base.empty() ? base + "/na" : run.fleet_base) + "\"\n";
  for (const std::string& s : run.settings) y += "      " + s + "\n";
  y += "connections:\n";
  for (const TeslaCar& c : run.cars)
    y += "  - {id: " + c.id + ", driver: tesla, vin: " + c.vin + ", identifiers: {tesla_id: \"" +
         c.tesla_id + "\", account: " + run.account +
         "}, vehicle_token_id: " + std::to_string(1000 + c.key_child) +
         ", synthetic_token_id: " + std::to_string(2000 + c.key_child) +
         ", key_child: " + std::to_string(c.key_child) + "}\n";
  y += "sinks:\n  - {name: events, type: file, path: events.jsonl}\n";
  return write("oemlink.yaml", y);
}

void TeslaE2eTest::seed(const fs::path& cfg, const std::string& conn,
                        const std::string& refresh_token) {
  fs::path file = write("seed.txt", refresh_token + "\n");
  Result r = run(
      {"secrets", "set", conn, "refresh_token", "--file", file.string(), "--config", cfg.string()});
  fs::remove(file);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find(refresh_token), std::string::npos) << "secrets set printed the token";
}

std::optional<std::string> TeslaE2eTest::stored(const fs::path& cfg, const std::string& conn,
                                                const std::string& key) {
  config::Config c = config::load_config_file(cfg);
  host::SecretAccess access([&c] {
    const LockedDataKey k = host::open_sealed_data_key(c, host::DataKeyPurpose::secrets);
    return std::make_unique<store::SecretStore>(DataDir(c.data_dir).secrets_db(), k.get());
  });
  std::string buf(64 * 1024, '\0');
  size_t size = 0;
  oemlink_status st = access.get(host::SecretAccess::connection_owner("tesla", conn), key,
                                 buf.data(), buf.size(), &size);
  if (st != OEMLINK_OK) return std::nullopt;
  buf.resize(size);
  return buf;
}

void TeslaE2eTest::start_oemlink(const fs::path& cfg) {
  ASSERT_LT(oemlink_, 0) << "oemlink already running";
  ++runs_;
  oemlink_ = spawn({"run", "--config", cfg.string()}, kExe, "oemlink-" + std::to_string(runs_));
}

int TeslaE2eTest::stop_oemlink() {
  if (oemlink_ <= 0) return -1;
  kill(oemlink_, SIGTERM);
  Result r = wait_for(oemlink_, "oemlink-" + std::to_string(runs_));
  oemlink_ = -1;
  return r.rc;
}

void TeslaE2eTest::kill_oemlink() {
  if (oemlink_ <= 0) return;
  kill(oemlink_, SIGKILL);
  waitpid(oemlink_, nullptr, 0);
  oemlink_ = -1;
}

std::string TeslaE2eTest::oemlink_logs() const {
  std::string all;
  for (int i = 1; i <= runs_; ++i)
    all += slurp(dir_ / ("oemlink-" + std::to_string(i) + ".out")) +
           slurp(dir_ / ("oemlink-" + std::to_string(i) + ".err"));
  // The CLI commands run() made (secrets set) write here.
  all += slurp(dir_ / "stdout") + slurp(dir_ / "stderr");
  return all;
}

std::string TeslaE2eTest::current_log() const {
  return slurp(dir_ / ("oemlink-" + std::to_string(runs_) + ".err"));
}

std::vector<json::object> TeslaE2eTest::events() const {
  std::vector<json::object> out;
  std::ifstream in(dir_ / "data/events.jsonl");
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (!ec && v.is_object()) out.push_back(std::move(v.as_object()));
  }
  return out;
}

json::object TeslaE2eTest::counters() const {
  boost::system::error_code ec;
  json::value v = json::parse(slurp(dir_ / "data/status.json"), ec);
  if (ec || !v.is_object()) return {};
  const json::value* c = v.as_object().if_contains("metrics");
  return c && c->is_object() ? c->as_object() : json::object{};
}

uint64_t TeslaE2eTest::number(const json::object& o, const std::string& key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_number()) return 0;
  return v->to_number<uint64_t>();
}

void TeslaE2eTest::expect_no_token_leaks() {
  std::vector<std::string> secrets;
  for (const json::object& t : issued_tokens())
    for (const char* k : {"access_token", "refresh_token"})
      if (const std::string v(t.at(k).as_string()); !v.empty()) secrets.push_back(v);
  ASSERT_FALSE(secrets.empty()) << "the mock issued no token: nothing was checked";
  // Whole tokens, and also the random part of a JWT-shaped access token on its own (a log
  // that cut the token would still leak its signature).
  std::vector<std::string> needles;
  for (const std::string& s : secrets) {
    needles.push_back(s);
    if (const size_t dot = s.rfind('.'); dot != std::string::npos && s.size() - dot > 20)
      needles.push_back(s.substr(dot + 1));
  }
  auto check = [&](const std::string& where, const std::string& text) {
    for (const std::string& n : needles)
      EXPECT_EQ(text.find(n), std::string::npos) << "a token appears in " << where;
  };
  check("oemlink's output", oemlink_logs());
  size_t files = 0;
  if (fs::exists(dir_ / "data"))
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "data")) {
      if (!entry.is_regular_file()) continue;
      // The encrypted secret store is where tokens belong.
      if (entry.path().filename().string().rfind("secrets.db", 0) == 0) continue;
      check(entry.path().string(), slurp(entry.path()));
      ++files;
    }
  EXPECT_GT(files, 0u);
}

std::map<std::string, json::value> last_values(const std::vector<json::object>& events,
                                               const std::string& vin) {
  std::map<std::string, json::value> out;
  for (const json::object& e : events) {
    const json::object& data = e.at("data").as_object();
    const json::value* v = data.if_contains("vin");
    if (!v || v->as_string() != vin) continue;
    for (const auto& s : data.at("signals").as_array())
      out[std::string(s.at("name").as_string())] = s.at("value");
  }
  return out;
}

}  // namespace oemlink::testing
