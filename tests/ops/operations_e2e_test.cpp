// The operations listener of the real daemon: its routes; a real Prometheus (Debian's
// /usr/bin/prometheus) scraping /metrics and answering a query for a counter the mock driver
// drives; /readyz following the dimo_https sink's peer (the reference ingest sink) down past a
// 2 s staleness and back; and sd_notify READY=1 / STOPPING=1 to a NOTIFY_SOCKET this test owns.
#include "core/common/metric_key.hpp"
#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/inbound_fixture.hpp"

#include <boost/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <optional>
#include <regex>
#include <thread>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;

const fs::path kIngest = fs::path(OEMLINK_BINARY_DIR) / "oemlink-ingest-sink";
const fs::path kPrometheus = "/usr/bin/prometheus";

using Response = http::response<http::string_body>;

// One request on its own connection to 127.0.0.1:port; nullopt when nothing answered.
std::optional<Response> request(uint16_t port, const std::string& method, const std::string& target,
                                std::chrono::milliseconds timeout = 5s) {
  try {
    net::testing::RawClient c(port, timeout);
    if (!c.send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n" +
                "Connection: close\r\n\r\n"))
      return std::nullopt;
    return c.response();
  } catch (const std::exception&) {
    return std::nullopt;  // refused: not listening (yet, or any more)
  }
}

// Polls `fn` every 50 ms until it holds; false after `limit`.
// An answer of another shape than expected (boost::json's at() throws) counts as "not yet".
template <class Fn>
bool eventually(Fn fn, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    try {
      if (fn()) return true;
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// Sum of every sample of oemlink's poll counters in a text exposition:
// "oemlink_polls_total{driver=…,outcome=…}" and "oemlink_polls_hung_total{driver=…}".
double polls_in(const std::string& exposition) {
  static const std::regex line(R"(^(oemlink_polls\w*_total)(\{[^}]*\})? ([0-9.e+]+)$)");
  double sum = 0;
  std::istringstream in(exposition);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) sum += std::stod(m[3]);
  }
  return sum;
}
// The value of the series `name` with exactly `labels` in a text exposition; -1 when absent.
double sample_in(const std::string& exposition, std::string_view name, const MetricLabels& labels) {
  std::istringstream in(exposition);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l[0] == '#') continue;
    size_t sp = l.rfind(' ');
    auto key = parse_metric_key(std::string_view(l).substr(0, sp));
    if (key && key->name == name && key->labels == labels) return std::stod(l.substr(sp + 1));
  }
  return -1;
}
constexpr const char* kPollsQuery = R"(sum({__name__=~"oemlink_polls\\w*_total"}))";

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class OperationsE2e : public CliTest {
 protected:
  void TearDown() override {
    for (pid_t* pid : {&daemon_, &ingest_, &prometheus_}) {
      if (*pid <= 0) continue;
      kill(*pid, SIGTERM);
      waitpid(*pid, nullptr, 0);
    }
    if (notify_fd_ >= 0) ::close(notify_fd_);
    if (!notify_path_.empty()) fs::remove(notify_path_);
    CliTest::TearDown();
  }

  // A config with the mock driver polling `cars` cars every 200 ms, the operations listener on
  // ops_port_, and `sinks` (YAML lines under "sinks:").
  fs::path config(const std::string& sinks, int cars = 3) {
    ops_port_ = free_port();
    std::string y =
        "data_dir: data\n"
        "logging: {level: info}\n"
        "schedule: {shutdown_timeout: 3s}\n"
        "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
        "drivers:\n"
        "  - {name: mock, library: " +
        (fs::path(OEMLINK_PLUGIN_DIR) / "oemlink-driver-mock.so").string() +
        ", poll_interval: 200ms, settings: {seed: 5, asleep_rate: 0, error_rate: 0}}\n"
        "connections:\n";
    for (int i = 1; i <= cars; ++i)
      y += "  - {id: car-" + std::to_string(i) +
           ", driver: mock, vehicle_token_id: " + std::to_string(i) +
           ", key_child: " + std::to_string(i) + "}\n";
    y += "sinks:\n" + sinks;
    y += "listeners:\n  operations: {port: " + std::to_string(ops_port_) + "}\n";
    return write("oemlink.yaml", y);
  }
  fs::path file_sink_config() {
    return config("  - {name: events, type: file, path: events.jsonl}\n");
  }

  void start_daemon(const fs::path& cfg) {
    daemon_ = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
    ASSERT_TRUE(wait_for_listener(ops_port_, daemon_)) << slurp(dir_ / "daemon.err");
  }
  Result stop_daemon() {
    kill(daemon_, SIGTERM);
    Result r = wait_for(daemon_, "daemon");
    daemon_ = -1;
    return r;
  }

  // The reference ingest server (mutual TLS) on `port` (0: any); returns its port.
  int start_ingest(int port = 0) {
    fs::remove(dir_ / "ingest.out");
    ingest_ = spawn({"--cert", "pki/server.crt", "--key", "pki/server.key", "--ca", "pki/ca.crt",
                     "--listen", "127.0.0.1:" + std::to_string(port), "--store", "ingest.jsonl"},
                    kIngest, "ingest");
    int bound = 0;
    eventually(
        [&] {
          std::string out = slurp(dir_ / "ingest.out");
          auto at = out.find("listening on 127.0.0.1:");
          if (at == std::string::npos || out.find('\n', at) == std::string::npos) return false;
          bound = std::stoi(out.substr(at + 23));
          return true;
        },
        10s);
    EXPECT_NE(bound, 0) << "ingest sink did not start: " << slurp(dir_ / "ingest.err");
    return bound;
  }
  void stop_ingest() {
    kill(ingest_, SIGTERM);
    waitpid(ingest_, nullptr, 0);
    ingest_ = -1;
  }

  std::optional<Response> ops(const std::string& target, const std::string& method = "GET") {
    return request(ops_port_, method, target);
  }
  std::string readyz_body() {
    auto r = ops("/readyz");
    return r ? r->body() : "(no answer)";
  }

  // A unix datagram socket for NOTIFY_SOCKET, set in the environment of what spawn() starts.
  void listen_for_notifications() {
    notify_path_ = fs::temp_directory_path() / ("oemlink-notify-" + std::to_string(getpid()));
    fs::remove(notify_path_);
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(notify_fd_, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    ASSERT_LT(notify_path_.string().size(), sizeof a.sun_path);
    std::strncpy(a.sun_path, notify_path_.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(notify_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    env_["NOTIFY_SOCKET"] = notify_path_.string();
  }
  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> notification(std::chrono::milliseconds timeout = 20s) {
    pollfd p{notify_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(notify_fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

  uint16_t ops_port_ = 0;
  pid_t daemon_ = -1, ingest_ = -1, prometheus_ = -1;
  int notify_fd_ = -1;
  fs::path notify_path_;
};

boost::json::object json_of(const Response& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body(), ec);
  return ec || !v.is_object() ? boost::json::object{} : v.as_object();
}

TEST_F(OperationsE2e, RoutesAnswerWhatTheyShould) {
  ASSERT_NO_FATAL_FAILURE(start_daemon(file_sink_config()));
  auto health = ops("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->result_int(), 200);
  EXPECT_EQ(health->body(), R"({"status":"ok"})");
  EXPECT_EQ((*health)[http::field::content_type], "application/json");

  ASSERT_TRUE(eventually(
      [&] {
        auto r = ops("/metrics");
        return r && polls_in(r->body()) > 0;
      },
      30s));
  auto metrics = ops("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->result_int(), 200);
  EXPECT_EQ((*metrics)[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_HAS(metrics->body(), "# TYPE oemlink_");

  // A file sink delivers at once: ready.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = ops("/readyz");
        return r && r->result_int() == 200;
      },
      30s));
  EXPECT_EQ(ops("/readyz")->body(), R"({"ready":true})");

  auto unknown = ops("/nothing-here");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->result_int(), 404);
  auto post = ops("/metrics", "POST");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->result_int(), 405);
  EXPECT_EQ((*post)[http::field::allow], "GET");
  // The listener counts its answers by route and status.
  EXPECT_EQ(sample_in(ops("/metrics")->body(), "oemlink_http_requests_total",
                      {{"listener", "operations"}, {"route", "healthz"}, {"code", "200"}}),
            1.0);

  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.err, "operations listener on 127.0.0.1:" + std::to_string(ops_port_));
}

TEST_F(OperationsE2e, APortInUseStopsTheStartNamingTheListener) {
  auto cfg = file_sink_config();
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), ops_port_});
  listen_for_notifications();
  Result r = wait_for(spawn({"run", "--config", cfg.string()}, kExe, "daemon"), "daemon");
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "listeners.operations");
  EXPECT_HAS(r.err, "oemlink.yaml:");
  EXPECT_FALSE(notification(200ms)) << "READY=1 sent by a daemon that did not start";
}

TEST_F(OperationsE2e, ARealPrometheusScrapesTheCounters) {
  if (!fs::exists(kPrometheus))
    GTEST_SKIP() << kPrometheus << " is not installed (Debian: prometheus)";
  ASSERT_NO_FATAL_FAILURE(start_daemon(file_sink_config()));
  const uint16_t prom_port = free_port();
  write("prometheus.yml",
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: oemlink\n"
        "    static_configs: [{targets: ['127.0.0.1:" +
            std::to_string(ops_port_) + "']}]\n");
  prometheus_ =
      spawn({"--config.file=prometheus.yml", "--storage.tsdb.path=tsdb",
             "--storage.tsdb.retention.time=1h",
             "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
            kPrometheus, "prometheus");
  ASSERT_TRUE(wait_for_listener(prom_port, prometheus_)) << slurp(dir_ / "prometheus.err");

  // The target is up once Prometheus has scraped it.
  std::string health;
  bool up = eventually(
      [&] {
        auto r = request(prom_port, "GET", "/api/v1/targets?state=active");
        if (!r || r->result_int() != 200) return false;
        auto targets = json_of(*r).at("data").as_object().at("activeTargets").as_array();
        if (targets.empty()) return false;
        health = std::string(targets[0].as_object().at("health").as_string());
        return health == "up";
      },
      30s);
  ASSERT_TRUE(up) << "target health: " << health << "\n" << slurp(dir_ / "prometheus.err");

  // The counter read back through Prometheus's query API: more than nothing, and never more
  // than oemlink itself says afterwards (counters only grow).
  double scraped = 0;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = request(prom_port, "GET", "/api/v1/query?query=" + url_encode(kPollsQuery));
        if (!r || r->result_int() != 200) return false;
        auto result = json_of(*r).at("data").as_object().at("result").as_array();
        if (result.empty()) return false;
        scraped =
            std::stod(std::string(result[0].as_object().at("value").as_array()[1].as_string()));
        return scraped > 0;
      },
      30s))
      << slurp(dir_ / "prometheus.err");
  auto own = ops("/metrics");
  ASSERT_TRUE(own);
  const double now = polls_in(own->body());
  std::cout << "[ info ] Prometheus read " << scraped << " polls; oemlink says " << now << "\n";
  EXPECT_GT(scraped, 0);
  EXPECT_GE(now, scraped);
}

TEST_F(OperationsE2e, ReadyzFollowsTheSinksPeerPastItsStaleness) {
  std::string pki = "bash '" + (kSource / "tools/make-test-pki.sh").string() + "' '" +
                    (dir_ / "pki").string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(pki.c_str()), 0);
  const int port = start_ingest();
  ASSERT_NE(port, 0);
  ASSERT_NO_FATAL_FAILURE(start_daemon(
      config("  - {name: dimo, type: dimo_https, url: \"https://127.0.0.1:" + std::to_string(port) +
             "/\", client_cert: pki/client.crt, client_key: pki/client.key, "
             "ca_file: pki/ca.crt, timeout: 2s, staleness: 2s}\n")));
  auto ready = [&] {
    auto r = ops("/readyz");
    return r && r->result_int() == 200;
  };
  // Delivering: the ingest sink has stored events, and the sink is ready.
  ASSERT_TRUE(eventually([&] { return !slurp(dir_ / "ingest.jsonl").empty(); }, 30s))
      << slurp(dir_ / "daemon.err");
  ASSERT_TRUE(eventually(ready, 30s)) << readyz_body();

  stop_ingest();  // events keep coming and wait in the outbox
  std::optional<Response> not_ready;
  ASSERT_TRUE(eventually(
      [&] {
        not_ready = ops("/readyz");
        return not_ready && not_ready->result_int() == 503;
      },
      30s));
  auto body = json_of(*not_ready);
  EXPECT_EQ(body.at("ready"), false) << not_ready->body();
  auto failing = body.at("failing").as_array();
  ASSERT_EQ(failing.size(), 1u) << not_ready->body();
  EXPECT_EQ(failing[0].as_object().at("check"), "sink");
  EXPECT_EQ(failing[0].as_object().at("sink"), "dimo");
  std::string reason(failing[0].as_object().at("reason").as_string());
  EXPECT_TRUE(std::regex_match(
      reason, std::regex(R"(\d+ events? waiting, last delivery .+ ago \(staleness 2s\))")))
      << reason;
  // Liveness is not readiness: the process still serves.
  EXPECT_EQ(ops("/healthz")->result_int(), 200);

  ASSERT_EQ(start_ingest(port), port);  // the peer returns on the same address
  EXPECT_TRUE(eventually(ready, 60s)) << readyz_body();
  Result r = stop_daemon();
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST_F(OperationsE2e, SdNotifyReadyOnceServingAndStoppingOnSigterm) {
  listen_for_notifications();
  auto cfg = file_sink_config();
  daemon_ = spawn({"run", "--config", cfg.string()}, kExe, "daemon");
  auto ready = notification();
  ASSERT_TRUE(ready) << "no READY=1 within 20 s\n" << slurp(dir_ / "daemon.err");
  EXPECT_EQ(ready->rfind("READY=1", 0), 0u) << *ready;
  EXPECT_HAS(*ready, "STATUS=serving 3 connections");
  // READY=1 means the listeners are bound: no waiting for the port.
  auto health = ops("/healthz");
  ASSERT_TRUE(health) << "READY=1 before the operations listener was up";
  EXPECT_EQ(health->result_int(), 200);

  kill(daemon_, SIGTERM);
  auto stopping = notification();
  ASSERT_TRUE(stopping) << "no STOPPING=1 after SIGTERM\n" << slurp(dir_ / "daemon.err");
  EXPECT_EQ(stopping->rfind("STOPPING=1", 0), 0u) << *stopping;
  Result r = wait_for(daemon_, "daemon");
  daemon_ = -1;
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(notification(100ms)) << "nothing after STOPPING=1";
}

}  // namespace
}  // namespace oemlink::testing
