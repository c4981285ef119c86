// The admin API of the real daemon, driven with the real `oemlink connections`: the YAML's cars
// are listed, one is paused (its events stop while the others' go on), resumed, polled, given its
// token ids and revoked, live; a wrong token is refused; and the token appears in no output, log
// or file of the data dir.
#include "tests/e2e/cli_fixture.hpp"
#include "tests/e2e/inbound_fixture.hpp"

#include <chrono>
#include <thread>

namespace oemlink::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "e2e-admin-token-5f1c0b7d9a2e4c68";

class AdminE2e : public CliTest {
 protected:
  void start() {
    port_ = free_port();
    write("admin.token", std::string(kToken) + "\n");
    write(
        "oemlink.yaml",
        R"(data_dir: data
logging: {level: trace, file: data/oemlink.log}
vault: {create_if_missing: true, kek: {file: data/kek.hex}}
drivers:
  - {name: mock, library: )" +
            (fs::path(OEMLINK_PLUGIN_DIR) / "oemlink-driver-mock.so").string() +
            R"(, mode: poll, poll_interval: 1s, settings: {seed: 7, asleep_rate: 0, error_rate: 0}}
connections:
  - {id: car-1, driver: mock, vin: 5YJ3E1EA7KF000001, key_child: 1, synthetic_token_id: 101}
  - {id: car-2, driver: mock, vin: 5YJ3E1EA7KF000002, key_child: 2, synthetic_token_id: 102}
sinks:
  - {name: events, type: file, path: events.jsonl}
listeners:
  admin: {port: )" +
            std::to_string(port_) + R"(, token: '${file:admin.token}'}
)");
    daemon_ = spawn({"run", "--config", "oemlink.yaml"}, kExe, "daemon");
    ASSERT_TRUE(wait_for_listener(port_, daemon_)) << slurp(dir_ / "daemon.err");
  }
  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGTERM);
      Result r = wait_for(daemon_, "daemon");
      EXPECT_EQ(r.rc, 0) << r.err;
    }
    CliTest::TearDown();
  }
  Result connections(std::vector<std::string> args) {
    args.insert(args.begin(), "connections");
    args.insert(args.end(), {"--config", "oemlink.yaml"});
    Result r = run(args);
    EXPECT_EQ(r.out.find(kToken), std::string::npos);
    EXPECT_EQ(r.err.find(kToken), std::string::npos);
    return r;
  }
  // Events of `connection`, by the producer (synthetic device token 101 or 102) each names: an
  // event carries no connection id.
  size_t events_of(const std::string& connection) {
    const std::string token = connection == "car-1" ? "101" : "102";
    const std::string needle = ":" + token + "\",\"subject\"";
    std::string text = slurp(dir_ / "data" / "events.jsonl");
    size_t n = 0;
    for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; ++at) ++n;
    return n;
  }

  uint16_t port_ = 0;
  pid_t daemon_ = -1;
};

TEST_F(AdminE2e, ListPauseResumePollSetTokensRevokeLive) {
  start();
  Result r = connections({"list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "car-1");
  EXPECT_HAS(r.out, "2 of 2 connections");

  r = connections({"pause", "car-1", "--reason", "e2e"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "car-1: paused (e2e)");
  std::this_thread::sleep_for(1500ms);  // what was in flight lands
  const size_t paused_at = events_of("car-1"), other_at = events_of("car-2");
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(events_of("car-1"), paused_at);  // no poll while paused...
  EXPECT_GT(events_of("car-2"), other_at);   // ...while the others go on

  r = connections({"resume", "car-1", "--json"});
  EXPECT_HAS(r.out, "\"state\":\"active\"");
  EXPECT_EQ(connections({"poll", "car-1"}).rc, 0);
  for (int i = 0; i < 50 && events_of("car-1") == paused_at; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_GT(events_of("car-1"), paused_at);

  r = connections({"set-tokens", "car-2", "--vehicle", "1002", "--synthetic", "2002"});
  EXPECT_HAS(r.out, "car-2: vehicle token 1002, synthetic device token 2002");
  r = connections({"show", "car-2"});
  EXPECT_HAS(r.out, "vehicle_token_id:   1002");

  r = connections({"revoke", "car-2", "--reason", "sold"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "revoked for good");
  EXPECT_EQ(connections({"resume", "car-2"}).rc, 1);  // final

  write("admin.token", "a-wrong-token-that-is-long-enough\n");
  r = connections({"list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "HTTP 401");

  kill(daemon_, SIGTERM);
  Result d = wait_for(daemon_, "daemon");
  daemon_ = -1;
  EXPECT_EQ(d.rc, 0) << d.err;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file() || entry.path().filename() == "admin.token") continue;
    EXPECT_EQ(slurp(entry.path()).find(kToken), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace oemlink::testing
