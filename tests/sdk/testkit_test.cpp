// The SDK test kit: the fake host's clock, timers, scripted HTTP and secret-store faults, seen
// through driver.hpp's Host as a driver sees them, and a token-refreshing driver tested with
// them end to end.
#include <oemlink/driver.hpp>
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::test {
namespace {

using namespace ::oemlink::testkit;

TEST(SdkTestkit, TimersFireOnTheFakeClockAndCancelOnce) {
  FakeHost fake;
  Host host(fake.table());
  std::vector<std::pair<int, bool>> fired;
  host.start_timer(1000, [&](bool cancelled) { fired.emplace_back(1, cancelled); });
  const uint64_t second = host.start_timer(5000, [&](bool c) { fired.emplace_back(2, c); });
  EXPECT_EQ(fake.run_timers(999), 0);
  EXPECT_EQ(fake.run_timers(1), 1);
  EXPECT_EQ(host.now_ms(), 1'700'000'001'000);
  host.cancel_timer(second);
  host.cancel_timer(second);
  EXPECT_EQ(fired, (std::vector<std::pair<int, bool>>{{1, false}, {2, true}}));
  EXPECT_EQ(fake.cancelled_timers, 1);
  EXPECT_EQ(fake.pending_timers(), 0u);
}

TEST(SdkTestkit, HttpRequestsAreRecordedAndAnsweredFromTheScript) {
  FakeHost fake;
  Host host(fake.table());
  std::vector<std::string> answers;
  HttpRequest req;
  req.method = "POST";
  req.url = "https://api.example/token";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = "{}";
  req.timeout_ms = 5000;
  ASSERT_TRUE(host.http(nullptr, req, [&](const HttpResponse& r) {
    answers.push_back(std::to_string(r.http_status) + " " + std::string(r.body) + " " +
                      std::string(r.header("retry-after")));
  }));
  ASSERT_EQ(fake.requests.size(), 1u);
  EXPECT_EQ(fake.requests[0].method, "POST");
  EXPECT_EQ(fake.requests[0].url, "https://api.example/token");
  EXPECT_EQ(fake.requests[0].header("content-type"), "application/json");
  EXPECT_EQ(fake.requests[0].body, "{}");
  EXPECT_EQ(fake.requests[0].timeout_ms, 5000u);
  EXPECT_EQ(fake.pending_http(), 1u);
  EXPECT_EQ(fake.deliver_http(), 0) << "nothing scripted yet";

  fake.script_http(HttpReply::with_status(429, "slow down", {{"Retry-After", "60"}}));
  EXPECT_EQ(fake.deliver_http(), 1);
  EXPECT_EQ(answers, std::vector<std::string>{"429 slow down 60"});
  EXPECT_EQ(fake.pending_http(), 0u);
}

TEST(SdkTestkit, InlineAnswersArriveBeforeTheRequestReturns) {
  FakeHost fake;
  fake.answer_http_inline = true;
  fake.script_http(HttpReply::transport_failure("timeout"));
  Host host(fake.table());
  oemlink_status status = OEMLINK_OK;
  std::string error;
  ASSERT_TRUE(host.http(nullptr, HttpRequest{}, [&](const HttpResponse& r) {
    status = r.status;
    error = std::string(r.error);
  }));
  EXPECT_EQ(status, OEMLINK_RETRY);
  EXPECT_EQ(error, "timeout");
}

TEST(SdkTestkit, RefusedRequestsAreRecordedButNeverAnswered) {
  FakeHost fake;
  fake.http_accept = OEMLINK_ERROR;
  Host host(fake.table());
  int calls = 0;
  EXPECT_FALSE(host.http(nullptr, HttpRequest{}, [&](const HttpResponse&) { ++calls; }));
  EXPECT_EQ(fake.requests.size(), 1u);
  EXPECT_EQ(fake.pending_http(), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(SdkTestkit, PendingRequestsAreAnsweredWhenTheHostGoes) {
  int calls = 0;
  std::string error;
  {
    FakeHost fake;
    Host(fake.table()).http(nullptr, HttpRequest{}, [&](const HttpResponse& r) {
      ++calls;
      error = std::string(r.error);
    });
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(error, "fake host shut down");
}

TEST(SdkTestkit, SecretsAreKeptPerConnectionAndCanFail) {
  FakeHost fake;
  Host host(fake.table());
  auto* car1 = reinterpret_cast<oemlink_conn*>(uintptr_t{1});
  auto* car2 = reinterpret_cast<oemlink_conn*>(uintptr_t{2});
  const std::string long_token(1000, 't');  // longer than Host's first buffer
  const std::pair<std::string_view, std::string_view> kv[] = {{"refresh", long_token},
                                                              {"access", "a1"}};
  EXPECT_TRUE(host.secret_put(car1, kv));
  std::string out;
  EXPECT_TRUE(host.secret_get(car1, "refresh", out));
  EXPECT_EQ(out, long_token);
  EXPECT_FALSE(host.secret_get(car2, "refresh", out));

  fake.fail_next_secret_puts = 1;
  const std::pair<std::string_view, std::string_view> rotated[] = {{"refresh", "r2"},
                                                                   {"access", "a2"}};
  EXPECT_FALSE(host.secret_put(car1, rotated));
  EXPECT_TRUE(host.secret_get(car1, "access", out));
  EXPECT_EQ(out, "a1") << "a failed put writes nothing";
  EXPECT_TRUE(host.secret_put(car1, rotated));

  fake.fail_next_secret_gets = 1;
  EXPECT_FALSE(host.secret_get(car1, "access", out));
  EXPECT_TRUE(host.secret_get(car1, "access", out));
  EXPECT_EQ(out, "a2");
  EXPECT_EQ(fake.secret_put_calls, 3);
}

TEST(SdkTestkit, RecordsLogsCountersStatesAndServices) {
  FakeHost fake;
  Host host(fake.table());
  auto* car = reinterpret_cast<oemlink_conn*>(uintptr_t{7});
  host.log(OEMLINK_LOG_WARN, "token expires soon", car);
  host.count("refreshes");
  host.count("refreshes", 2);
  host.report_state(car, OEMLINK_STATE_RATE_LIMITED, 123, "429");
  static const int kService = 5;
  fake.services["oemlink.example/1"] = &kService;
  ASSERT_EQ(fake.logs.size(), 1u);
  EXPECT_EQ(fake.logs[0].conn, car);
  EXPECT_EQ(fake.logs[0].level, OEMLINK_LOG_WARN);
  EXPECT_EQ(fake.logs[0].message, "token expires soon");
  EXPECT_EQ(fake.counters["refreshes"], 3u);
  ASSERT_EQ(fake.states.size(), 1u);
  EXPECT_EQ(fake.states[0].until_unix_ms, 123);
  EXPECT_EQ(fake.table()->get_service(fake.table(), "oemlink.example/1"), &kService);
  EXPECT_EQ(fake.table()->get_service(fake.table(), "oemlink.webhook-url/1"), nullptr);
}

// A driver in the shape Tesla's and Smartcar's will have: read the access token, call the API;
// on 401 refresh, store the rotated pair before using it, then call again.
class TokenConnection : public Connection {
 public:
  TokenConnection(Host host, ConnHandle conn) : host_(host), conn_(conn) {}

  void poll(PollDone done) override {
    std::string access;
    if (!host_.secret_get(conn_, "access_token", access)) {
      host_.report_state(conn_, OEMLINK_STATE_NEEDS_REAUTH, 0, "no access token");
      return done.error("no access token");
    }
    fetch(access, std::make_shared<PollDone>(std::move(done)), true);
  }

 private:
  void fetch(const std::string& access, std::shared_ptr<PollDone> done, bool may_refresh) {
    HttpRequest req;
    req.url = "https://api.example/speed";
    req.headers = {{"Authorization", "Bearer " + access}};
    host_.http(conn_, req, [this, done, may_refresh](const HttpResponse& r) {
      if (r.status != OEMLINK_OK) return done->retry(r.error);
      if (r.http_status == 401 && may_refresh) return refresh(done);
      if (r.http_status != 200) return done->error("HTTP " + std::to_string(r.http_status));
      const oemlink_reading reading[] = {
          Reading::number("speed", host_.now_ms(), std::stod(std::string(r.body)))};
      if (host_.emit(conn_, reading) == OEMLINK_RETRY) return done->retry("host back-pressure");
      done->ok();
    });
  }

  void refresh(std::shared_ptr<PollDone> done) {
    HttpRequest req;
    req.method = "POST";
    req.url = "https://auth.example/token";
    host_.http(conn_, req, [this, done](const HttpResponse& r) {
      if (r.status != OEMLINK_OK || r.http_status != 200) return done->retry("refresh failed");
      const std::string access(r.body);
      const std::string refresh = "r-" + access;  // named: a view of a temporary would dangle
      const std::pair<std::string_view, std::string_view> kv[] = {{"access_token", access},
                                                                  {"refresh_token", refresh}};
      if (!host_.secret_put(conn_, kv)) return done->retry("could not store rotated tokens");
      fetch(access, done, false);
    });
  }

  Host host_;
  ConnHandle conn_;
};

class TokenDriver : public Driver {
 public:
  TokenDriver(Host host, std::string_view) : host_(host) {}
  std::unique_ptr<Connection> open(ConnHandle conn, const ConnInfo&) override {
    return std::make_unique<TokenConnection>(host_, conn);
  }

 private:
  Host host_;
};

const oemlink_driver* token_driver() {
  return make_descriptor<TokenDriver>("token", "0.0.1", "test", OEMLINK_CAP_POLL, nullptr, 0);
}

struct TokenCar {
  TokenCar() : conn(t.open("car-1")) { t.host.secrets[{conn, "access_token"}] = "old"; }
  DriverUnderTest t{token_driver(), "{}"};
  oemlink_conn* conn;
};

TEST(SdkTestkitDriver, ARotatedTokenIsStoredBeforeItIsUsed) {
  TokenCar car;
  Completion& done = car.t.poll(car.conn);
  car.t.host.script_http(HttpReply::with_status(401));
  car.t.host.script_http(HttpReply::with_status(200, "new"));
  car.t.host.script_http(HttpReply::with_status(200, "87.5"));
  EXPECT_EQ(car.t.host.deliver_http(), 3);

  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, OEMLINK_OK) << done.message;
  ASSERT_EQ(car.t.host.requests.size(), 3u);
  EXPECT_EQ(car.t.host.requests[0].header("authorization"), "Bearer old");
  EXPECT_EQ(car.t.host.requests[2].header("authorization"), "Bearer new");
  EXPECT_EQ((car.t.host.secrets[{car.conn, "refresh_token"}]), "r-new");
  ASSERT_EQ(car.t.host.emits.size(), 1u);
  EXPECT_EQ(car.t.host.emits[0].readings[0].number, 87.5);
}

TEST(SdkTestkitDriver, AFailedSecretWriteKeepsTheNewTokenUnused) {
  TokenCar car;
  car.t.host.fail_next_secret_puts = 1;
  car.t.host.answer_http_inline = true;
  car.t.host.script_http(HttpReply::with_status(401));
  car.t.host.script_http(HttpReply::with_status(200, "new"));
  Completion& done = car.t.poll(car.conn);

  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_EQ(done.message, "could not store rotated tokens");
  EXPECT_EQ(car.t.host.requests.size(), 2u) << "the API is not called with an unstored token";
  EXPECT_EQ((car.t.host.secrets[{car.conn, "access_token"}]), "old");
}

TEST(SdkTestkitDriver, AnUnreadableSecretStoreAsksForReauth) {
  TokenCar car;
  car.t.host.fail_next_secret_gets = 1;
  Completion& done = car.t.poll(car.conn);
  EXPECT_EQ(done.status, OEMLINK_ERROR);
  ASSERT_EQ(car.t.host.states.size(), 1u);
  EXPECT_EQ(car.t.host.states[0].state, OEMLINK_STATE_NEEDS_REAUTH);
  EXPECT_TRUE(car.t.host.requests.empty());
}

TEST(SdkTestkitDriver, ATransportFailureRetries) {
  TokenCar car;
  Completion& done = car.t.poll(car.conn);
  car.t.host.script_http(HttpReply::transport_failure("TLS handshake failed"));
  car.t.host.deliver_http();
  EXPECT_EQ(done.status, OEMLINK_RETRY);
  EXPECT_EQ(done.message, "TLS handshake failed");
}

}  // namespace
}  // namespace oemlink::test
