// HostServices through the C host table a driver really gets: handles are checked per driver,
// emitted batches are counted by the DurabilityGate, and every service fails the same way — a
// counter, a log line and the status the ABI documents — whatever went wrong behind it.
#include "core/host/host_services.hpp"

#include "core/common/log_line_format.hpp"

#include "tests/host/fake_clock.hpp"
#include "tests/host/scripted_driver.hpp"
#include "tests/uplink/mqtt_test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;

struct CountingSink : pipeline::EventSink {
  std::atomic<int> events{0};
  std::atomic<bool> commits{true};  // false: as an outbox whose commits fail (a full disk)
  std::string_view name() const override { return "counting"; }
  bool append(const pipeline::Event&) override {
    ++events;
    return true;
  }
  bool accepting() const override { return commits; }
  void flush() override {}
};

class HostServicesTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  FakeClock clock;
  MetricsRegistry metrics;
  config::Config cfg;
  config::DriverConfig dc_a, dc_b;
  ConnectionTable conns;
  testing::ScriptedDriver driver_a, driver_b;
  std::unique_ptr<DriverSet> drivers;
  std::unique_ptr<PollDispatcher> dispatcher;
  std::vector<uint32_t> released;
  std::unique_ptr<DurabilityGate> gate;
  CountingSink sink;
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::unique_ptr<pipeline::SigningStage> signing;
  std::unique_ptr<net::CurlMultiClient> http;
  std::unique_ptr<DriverTimers> timers;
  std::unique_ptr<SecretAccess> secrets;
  std::unique_ptr<MqttSubscriptions> mqtt;
  std::unique_ptr<HostServices> services;
  fs::path dir;
  bool secret_store_broken = false;
  DriverInstance* a = nullptr;
  DriverInstance* b = nullptr;

  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("oemlink-host-services-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    dc_a.name = "alpha";
    dc_b.name = "beta";
    drivers = std::make_unique<DriverSet>(cfg, std::vector<fs::path>{"/nonexistent"});
    dispatcher =
        std::make_unique<PollDispatcher>(io, clock, conns, *drivers, metrics, DispatchOptions{});
    gate = std::make_unique<DurabilityGate>(
        4, false, 0,
        [this](uint32_t c, oemlink_status, const std::string&) { released.push_back(c); });
    pipeline =
        std::make_unique<pipeline::Pipeline>(pipeline::EventBuilder(pipeline::EnvelopeSettings{}),
                                             std::vector<pipeline::EventSink*>{&sink}, metrics);
    signing =
        std::make_unique<pipeline::SigningStage>(*pipeline, [this](uint32_t c, uint64_t receipt) {
          boost::asio::post(io, [this, c, receipt] { gate->batch_settled(c, receipt); });
        });
    http = std::make_unique<net::CurlMultiClient>(io, net::HttpClientOptions{});
    timers = std::make_unique<DriverTimers>(io);
    secrets = std::make_unique<SecretAccess>([this] {
      if (secret_store_broken) throw std::runtime_error("secret store: disk I/O error");
      DataKey key{};
      RAND_bytes(key.data(), static_cast<int>(key.size()));
      return std::make_unique<store::SecretStore>(dir / "secrets.db", key);
    });
    mqtt = std::make_unique<MqttSubscriptions>(
        metrics, MqttBackoff{std::chrono::milliseconds(100), std::chrono::milliseconds(400)});
    services = std::make_unique<HostServices>(ServiceParts{io, clock, metrics, conns, *dispatcher,
                                                           *gate, *signing, *http, *secrets,
                                                           *timers, mqtt.get()});
    a = &drivers->adopt(dc_a, testing::scripted_descriptor(), testing::instance_of(driver_a),
                        services.get());
    b = &drivers->adopt(dc_b, testing::scripted_descriptor(), testing::instance_of(driver_b),
                        services.get());
    dispatcher->add_driver(*a);
    dispatcher->add_driver(*b);
    add_connection("car-a", *a);  // handle 1
    add_connection("car-b", *b);  // handle 2
  }
  void TearDown() override {
    mqtt->end_all();
    signing.reset();
    http->shutdown();
    drivers->detach_services();
    fs::remove_all(dir);
  }
  void add_connection(const std::string& id, DriverInstance& d) {
    config::ConnectionConfig cc;
    cc.id = id;
    cc.driver = d.name;
    uint32_t c = conns.add(cc, d.index);
    dispatcher->add_connection(c, d, std::nullopt);
    std::string error;
    ASSERT_TRUE(conns.open(c, d, error));
  }
  oemlink_conn* handle(uint32_t c) { return ConnectionTable::handle_of(c); }
  oemlink_reading speed(double kmh) {
    oemlink_reading r{};
    r.struct_size = sizeof r;
    r.name = {"speed", 5};
    r.timestamp_ms = clock.wall_ms() - 1000;
    r.kind = OEMLINK_VALUE_NUMBER;
    r.number = kmh;
    return r;
  }
  uint64_t count(std::string_view name, const MetricLabels& labels = {}) {
    return static_cast<uint64_t>(metrics.total(name, labels));
  }
};

TEST_F(HostServicesTest, EmitIsSignedAndItsBatchHoldsTheCompletionUntilSettled) {
  oemlink_reading r = speed(42);
  ASSERT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_OK);
  gate->complete(0, OEMLINK_OK, "");
  signing->drain();
  EXPECT_TRUE(released.empty() || sink.events == 1);
  io.restart();
  io.poll();
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(sink.events, 1);
}

// A full disk: while the outbox cannot commit, emit takes nothing (RETRY, counted as
// back-pressure), so a stream's readings stay with its driver instead of in memory that a
// shutdown out of time gives up; a poll's completion is not held for a batch never taken.
TEST_F(HostServicesTest, WhileTheOutboxCannotCommitEmitTakesNothingAndAnswersRetry) {
  sink.commits = false;
  oemlink_reading r = speed(42);
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_RETRY);
  EXPECT_EQ(signing->taken(), 0u);
  EXPECT_EQ(count("oemlink_pipeline_events_backpressured_total"), 1u);
  gate->complete(0, OEMLINK_RETRY, "host back-pressure");
  ASSERT_EQ(released, (std::vector<uint32_t>{0})) << "held for a batch that was never taken";
  sink.commits = true;
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_OK);
  signing->drain();
  EXPECT_EQ(sink.events, 1);
}

// Our clock was an hour ahead (nothing known of it) and drivers were shown that time; then it was
// put right. A reading stamped from the time shown is still taken for a while (it was our clock's
// fault), but that hour no longer loosens the future check kShownMarkHoldMs later.
TEST_F(HostServicesTest, ATimeShownWhileOurClockWasAheadVouchesForReadingsOnlyForAWhile) {
  constexpr int64_t kHour = 3'600'000;
  clock.step_wall(kHour);
  const int64_t shown = a->table.now_unix_ms(&a->table);
  ASSERT_EQ(shown, clock.wall_ms());
  clock.step_wall(-kHour);  // NTP puts it right
  oemlink_reading r = speed(42);
  r.timestamp_ms = shown;
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_OK) << "our clock's fault: taken";
  clock.advance(kShownMarkHoldMs + 1);
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_ERROR)
      << "50 min ahead of every clock we have, once the mark has lapsed";
  EXPECT_EQ(count("oemlink_pipeline_readings_rejected_total"), 1u);
  signing->drain();
}

TEST_F(HostServicesTest, ADriverLoggingInBulkIsSummarisedAndDoesNotSilenceAnother) {
  std::ostringstream log;
  auto capture = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  capture->set_formatter(make_log_formatter(LogLineStyle::text));  // the daemon's
  spdlog::default_logger()->sinks().push_back(capture);
  for (int i = 0; i < 500; ++i)
    a->table.log(&a->table, nullptr, OEMLINK_LOG_WARN, {"refused a request", 17});
  b->table.log(&b->table, nullptr, OEMLINK_LOG_WARN, {"beta still speaks", 17});
  clock.advance(1000);  // the next second: one line says how many were left out
  a->table.log(&a->table, nullptr, OEMLINK_LOG_WARN, {"refused a request", 17});
  spdlog::default_logger()->flush();
  spdlog::default_logger()->sinks().pop_back();
  const std::string text = log.str();
  size_t lines = 0;
  for (size_t at = 0; (at = text.find("refused a request", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, kDriverLogLinesPerSecond + 1);
  EXPECT_EQ(count("oemlink_driver_log_lines_suppressed_total"), 500u - kDriverLogLinesPerSecond);
  EXPECT_THAT(text, ::testing::HasSubstr("beta still speaks"));
  EXPECT_EQ(count(kLogLinesSuppressed), 500u - kDriverLogLinesPerSecond);
  EXPECT_THAT(text, ::testing::HasSubstr("refused a request (" +
                                         std::to_string(500 - kDriverLogLinesPerSecond) +
                                         " similar messages suppressed)"));
}

TEST_F(HostServicesTest, ADriversLineCarriesItsDriverAndConnectionAndNoSecretInJson) {
  std::ostringstream log;
  auto capture = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  capture->set_formatter(make_log_formatter(LogLineStyle::json));
  spdlog::default_logger()->sinks().push_back(capture);
  const std::string msg = "token answer {\"refresh_token\":\"rt-NEVER-LOGGED\"} \x01\xff";
  a->table.log(&a->table, handle(0), OEMLINK_LOG_WARN, {msg.data(), msg.size()});
  spdlog::default_logger()->flush();
  spdlog::default_logger()->sinks().pop_back();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(log.str(), ec);
  ASSERT_FALSE(ec) << log.str();
  EXPECT_EQ(v.at("driver"), "alpha") << log.str();
  EXPECT_FALSE(v.at("connection").as_string().empty()) << log.str();
  EXPECT_EQ(log.str().find("NEVER-LOGGED"), std::string::npos) << log.str();
}

TEST_F(HostServicesTest, AHandleOfAnotherDriverIsRefusedCountedAndDropsNothingElse) {
  oemlink_reading r = speed(10);
  // beta's connection through alpha's table: a stale or foreign handle must not reach its data.
  EXPECT_EQ(a->table.emit(&a->table, handle(1), &r, 1), OEMLINK_ERROR);
  EXPECT_EQ(a->table.emit(&a->table, reinterpret_cast<oemlink_conn*>(uintptr_t{999}), &r, 1),
            OEMLINK_ERROR);
  EXPECT_EQ(count("oemlink_driver_bad_handles_total"), 2u);
  EXPECT_EQ(count("oemlink_pipeline_readings_rejected_total"), 2u);
  EXPECT_EQ(sink.events, 0);
}

TEST_F(HostServicesTest, AReadingStructOlderThanVersionOneIsRefusedAndCounted) {
  oemlink_reading r = speed(10);
  r.struct_size = 8;
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_ERROR);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 1u);
  EXPECT_EQ(count("oemlink_pipeline_readings_rejected_total"), 1u);
}

TEST_F(HostServicesTest, SecretsAreNamespacedPerConnectionAndPerDriver) {
  oemlink_str k{"refresh_token", 13}, v1{"conn-secret", 11}, v2{"driver-secret", 13};
  ASSERT_EQ(a->table.secret_put(&a->table, handle(0), &k, &v1, 1), OEMLINK_OK);
  ASSERT_EQ(a->table.secret_put(&a->table, nullptr, &k, &v2, 1), OEMLINK_OK);
  char buf[64];
  size_t size = 0;
  ASSERT_EQ(a->table.secret_get(&a->table, handle(0), k, buf, sizeof buf, &size), OEMLINK_OK);
  EXPECT_EQ(std::string(buf, size), "conn-secret");
  ASSERT_EQ(a->table.secret_get(&a->table, nullptr, k, buf, sizeof buf, &size), OEMLINK_OK);
  EXPECT_EQ(std::string(buf, size), "driver-secret");
  // beta sees neither alpha's driver secret nor (through a foreign handle) alpha's car's.
  EXPECT_EQ(b->table.secret_get(&b->table, nullptr, k, buf, sizeof buf, &size), OEMLINK_ERROR);
  EXPECT_EQ(b->table.secret_get(&b->table, handle(0), k, buf, sizeof buf, &size), OEMLINK_ERROR);
  EXPECT_EQ(size, 0u);
  // Too small a buffer: RETRY with the size needed.
  EXPECT_EQ(a->table.secret_get(&a->table, handle(0), k, buf, 4, &size), OEMLINK_RETRY);
  EXPECT_EQ(size, 11u);
}

// A connection id that a configuration change moves to another driver starts without secrets:
// the old driver's tokens are not the new driver's.
TEST_F(HostServicesTest, AConnectionMovedToAnotherDriverInheritsNoSecrets) {
  add_connection("car-m", *a);  // handle 3: alpha serves car-m
  oemlink_str k{"refresh_token", 13}, v{"alpha-token", 11};
  ASSERT_EQ(a->table.secret_put(&a->table, handle(2), &k, &v, 1), OEMLINK_OK);
  add_connection("car-m", *b);  // handle 4: the same id, now beta's
  char buf[64];
  size_t size = 0;
  EXPECT_EQ(b->table.secret_get(&b->table, handle(3), k, buf, sizeof buf, &size), OEMLINK_ERROR);
  ASSERT_EQ(a->table.secret_get(&a->table, handle(2), k, buf, sizeof buf, &size), OEMLINK_OK);
  EXPECT_EQ(std::string(buf, size), "alpha-token");
}

// Stores written before secrets were kept per driver: the driver serving the connection still
// finds its tokens, which move to its namespace on first use.
TEST_F(HostServicesTest, SecretsOfAnOlderVersionStillReachTheConnectionsDriver) {
  const std::pair<std::string_view, std::string_view> old[] = {{"refresh_token", "rt-old"}};
  secrets->put("conn:car-a", old);  // the pre-upgrade layout
  oemlink_str k{"refresh_token", 13};
  char buf[64];
  size_t size = 0;
  ASSERT_EQ(a->table.secret_get(&a->table, handle(0), k, buf, sizeof buf, &size), OEMLINK_OK);
  EXPECT_EQ(std::string(buf, size), "rt-old");
  EXPECT_EQ(secrets->get("conn:car-a", "refresh_token", buf, sizeof buf, &size), OEMLINK_ERROR)
      << "the old row was copied, not moved";
  oemlink_str v{"rt-new", 6};
  ASSERT_EQ(a->table.secret_put(&a->table, handle(0), &k, &v, 1), OEMLINK_OK);
  ASSERT_EQ(a->table.secret_get(&a->table, handle(0), k, buf, sizeof buf, &size), OEMLINK_OK);
  EXPECT_EQ(std::string(buf, size), "rt-new");
}

TEST_F(HostServicesTest, AFailingSecretStoreIsCountedLoggedAndAnswersError) {
  secret_store_broken = true;
  oemlink_str k{"refresh_token", 13}, v{"x", 1};
  char buf[16];
  size_t size = 99;
  EXPECT_EQ(a->table.secret_get(&a->table, handle(0), k, buf, sizeof buf, &size), OEMLINK_ERROR);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(a->table.secret_put(&a->table, handle(0), &k, &v, 1), OEMLINK_ERROR);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 2u);
}

TEST_F(HostServicesTest, MalformedHttpRequestsFailLikeEveryOtherService) {
  oemlink_http_request req{};
  req.struct_size = sizeof req;
  EXPECT_EQ(a->table.http_request(&a->table, handle(0), &req, nullptr, nullptr), OEMLINK_ERROR);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 1u);
}

TEST_F(HostServicesTest, AfterCloseNoTimerStartsAndNoRequestGoesOut) {
  services->close();
  timers->close();
  auto fired = [](void*, int) {};
  EXPECT_EQ(a->table.timer_start(&a->table, 10, fired, nullptr), 0u);
  oemlink_http_request req{};
  req.struct_size = sizeof req;
  req.method = {"GET", 3};
  req.url = {"https://example.invalid/", 24};
  auto done = [](void*, const oemlink_http_response*) {};
  EXPECT_EQ(a->table.http_request(&a->table, nullptr, &req, done, nullptr), OEMLINK_ERROR);
}

TEST_F(HostServicesTest, ReportStateReachesTheDispatcherForOwnConnectionsOnly) {
  a->table.report_state(&a->table, handle(0), OEMLINK_STATE_NEEDS_REAUTH, 0, {"invalid_grant", 13});
  a->table.report_state(&a->table, handle(1), OEMLINK_STATE_NEEDS_REAUTH, 0, {"probe", 5});
  EXPECT_EQ(dispatcher->phase(0), schedule::Phase::stopped);
  EXPECT_NE(dispatcher->phase(1), schedule::Phase::stopped);
  EXPECT_EQ(count("oemlink_driver_bad_handles_total"), 1u);
}

TEST_F(HostServicesTest, DriverCountersAreNamespacedByDriver) {
  a->table.counter_add(&a->table, {"token_refreshes", 15}, 3);
  EXPECT_EQ(
      count("oemlink_driver_events_total", {{"driver", "alpha"}, {"name", "token_refreshes"}}), 3u);
}

TEST_F(HostServicesTest, OnceTheHostIsGoneEveryServiceRefuses) {
  drivers->detach_services();
  oemlink_reading r = speed(10);
  EXPECT_EQ(a->table.emit(&a->table, handle(0), &r, 1), OEMLINK_ERROR);
  oemlink_str k{"k", 1}, v{"v", 1};
  EXPECT_EQ(a->table.secret_put(&a->table, handle(0), &k, &v, 1), OEMLINK_ERROR);
  EXPECT_EQ(a->table.timer_start(
                &a->table, 1, [](void*, int) {}, nullptr),
            0u);
  a->table.log(&a->table, nullptr, OEMLINK_LOG_ERROR, {"late", 4});  // must not crash
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 0u);
}

// ---------------------------------------------------------------------------------------------
// oemlink.mqtt/1, against a real mosquitto broker
// ---------------------------------------------------------------------------------------------

// What a driver's C callbacks saw.
struct MqttInbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> messages;
  std::vector<std::pair<int, std::string>> statuses;

  static void OEMLINK_CALL on_message(void* ctx, oemlink_str topic, oemlink_str payload) {
    auto* self = static_cast<MqttInbox*>(ctx);
    std::lock_guard lock(self->mu);
    self->messages.emplace_back(std::string(topic.data, topic.size),
                                std::string(payload.data, payload.size));
    self->cv.notify_all();
  }
  static void OEMLINK_CALL on_status(void* ctx, int32_t connected, oemlink_str msg) {
    auto* self = static_cast<MqttInbox*>(ctx);
    std::lock_guard lock(self->mu);
    self->statuses.emplace_back(connected, std::string(msg.data, msg.size));
    self->cv.notify_all();
  }
  bool wait(size_t n_messages, int connected_or_minus_one = -1) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] {
      if (connected_or_minus_one < 0) return messages.size() >= n_messages;
      for (auto& [c, m] : statuses)
        if (c == connected_or_minus_one) return true;
      return false;
    });
  }
  size_t count() {
    std::lock_guard lock(mu);
    return messages.size();
  }
};

oemlink_str str(const std::string& s) {
  return {s.data(), s.size()};
}

// A subscription request whose strings live as long as it does.
struct MqttRequest {
  std::string host = "127.0.0.1", client_id, username, password;
  std::vector<std::string> topics{"telemetry/+/v/#"};
  std::vector<oemlink_str> topic_strs;
  oemlink_mqtt_subscription sub{};
  MqttRequest(int port, int qos = 1) {
    sub.struct_size = sizeof sub;
    sub.port = static_cast<uint32_t>(port);
    sub.qos = qos;
  }
  const oemlink_mqtt_subscription* get() {
    topic_strs.clear();
    for (auto& t : topics) topic_strs.push_back(str(t));
    sub.host = str(host);
    sub.client_id = str(client_id);
    sub.username = str(username);
    sub.password = str(password);
    sub.topics = topic_strs.data();
    sub.topic_count = topic_strs.size();
    return &sub;
  }
};

const oemlink_mqtt_service* mqtt_of(DriverInstance& d) {
  return static_cast<const oemlink_mqtt_service*>(
      d.table.get_service(&d.table, OEMLINK_SERVICE_MQTT));
}

TEST_F(HostServicesTest, MqttMessagesReachTheDriverThroughTheCTableAndAreCounted) {
  using uplink::testing::Broker;
  using uplink::testing::publish;
  Broker broker(uplink::testing::free_port(), "fleet", "pw-never-logged");
  ASSERT_TRUE(broker.start()) << broker.log();
  std::ostringstream log;
  auto capture = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(capture);
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::trace);

  const oemlink_mqtt_service* svc = mqtt_of(*a);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->struct_size, sizeof(oemlink_mqtt_service));
  EXPECT_EQ(a->table.get_service(&a->table, "oemlink.mqtt/2"), nullptr);

  // A wrong password: refused by the broker, reported, retried; the password is in no line.
  MqttInbox refused;
  MqttRequest bad(broker.port());
  bad.client_id = "oemlink-alpha-bad";
  bad.username = "fleet";
  bad.password = "pw-wrong-also-secret";
  uint64_t bad_id =
      svc->subscribe(&a->table, bad.get(), &MqttInbox::on_message, &MqttInbox::on_status, &refused);
  ASSERT_NE(bad_id, 0u) << "connecting happens in the background";
  ASSERT_TRUE(refused.wait(0, 0));
  EXPECT_THAT(refused.statuses[0].second, ::testing::HasSubstr("refused the connection"));

  MqttInbox inbox;
  MqttRequest req(broker.port());  // empty client id: "oemlink-alpha"
  req.username = "fleet";
  req.password = "pw-never-logged";
  uint64_t id =
      svc->subscribe(&a->table, req.get(), &MqttInbox::on_message, &MqttInbox::on_status, &inbox);
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(inbox.wait(0, 1)) << broker.log();
  ASSERT_TRUE(publish(broker.port(), "telemetry/VIN1/v/Odometer", "{\"value\":1}", 1, "fleet",
                      "pw-never-logged"));
  ASSERT_TRUE(publish(broker.port(), "telemetry/VIN2/v/Soc", "{\"value\":80}", 1, "fleet",
                      "pw-never-logged"));
  ASSERT_TRUE(inbox.wait(2));
  EXPECT_EQ(inbox.messages[0],
            std::make_pair(std::string("telemetry/VIN1/v/Odometer"), std::string("{\"value\":1}")));
  EXPECT_EQ(count("oemlink_mqtt_messages_received_total", {{"driver", "alpha"}}), 2u);
  EXPECT_EQ(count("oemlink_mqtt_messages_received_total"), 2u);
  EXPECT_EQ(count("oemlink_mqtt_messages_received_total", {{"driver", "beta"}}), 0u);

  // beta cannot end alpha's subscription; alpha can, and nothing arrives afterwards.
  mqtt_of(*b)->unsubscribe(&b->table, id);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 1u);
  EXPECT_EQ(mqtt->open_count(), 2u);
  svc->unsubscribe(&a->table, id);
  svc->unsubscribe(&a->table, bad_id);
  EXPECT_EQ(mqtt->open_count(), 0u);
  ASSERT_TRUE(publish(broker.port(), "telemetry/VIN1/v/Odometer", "{\"value\":2}", 1, "fleet",
                      "pw-never-logged"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(inbox.count(), 2u);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 1u);

  spdlog::default_logger()->sinks().pop_back();
  spdlog::set_level(level);
  EXPECT_THAT(log.str(), ::testing::HasSubstr("mqtt subscription"));
  EXPECT_THAT(log.str(), ::testing::Not(::testing::HasSubstr("pw-never-logged")));
  EXPECT_THAT(log.str(), ::testing::Not(::testing::HasSubstr("pw-wrong-also-secret")));
}

TEST_F(HostServicesTest, MalformedMqttSubscriptionsAreRefusedLikeEveryOtherService) {
  const oemlink_mqtt_service* svc = mqtt_of(*a);
  ASSERT_NE(svc, nullptr);
  MqttInbox inbox;
  auto subscribe = [&](MqttRequest& r, oemlink_mqtt_message_fn fn = &MqttInbox::on_message) {
    return svc->subscribe(&a->table, r.get(), fn, &MqttInbox::on_status, &inbox);
  };
  uint64_t failures = 0;
  auto refused = [&](MqttRequest r, const char* what) {
    EXPECT_EQ(subscribe(r), 0u) << what;
    EXPECT_EQ(count("oemlink_host_service_failures_total"), ++failures) << what;
  };
  int port = uplink::testing::free_port();  // nothing listens: only the request is judged
  {
    MqttRequest r(port);
    r.host.clear();
    refused(r, "empty host");
  }
  refused(MqttRequest(port, 2), "qos 2");
  {
    MqttRequest r(port);
    r.topics.clear();
    refused(r, "no topics");
  }
  {
    MqttRequest r(port);
    r.topics = {"telemetry/#/v"};
    refused(r, "'#' not last");
  }
  {
    MqttRequest r(port);
    r.sub.struct_size = 8;
    refused(r, "struct_size too small");
  }
  {
    MqttRequest r(port);
    r.sub.port = 70000;
    refused(r, "port");
  }
  {
    MqttRequest r(port);
    EXPECT_EQ(subscribe(r, nullptr), 0u) << "no message callback";
    EXPECT_EQ(count("oemlink_host_service_failures_total"), ++failures);
  }
  EXPECT_EQ(svc->subscribe(&a->table, nullptr, &MqttInbox::on_message, nullptr, nullptr), 0u);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), ++failures);

  // Two subscriptions under one client id would steal each other's session.
  MqttRequest first(port);
  uint64_t id = subscribe(first);
  ASSERT_NE(id, 0u) << "a broker that is down now is retried, not refused";
  refused(MqttRequest(port), "the default client id 'oemlink-alpha' again");
  MqttRequest other(port);
  other.client_id = "oemlink-alpha-2";
  uint64_t id2 = subscribe(other);
  EXPECT_NE(id2, 0u);
  svc->unsubscribe(&a->table, id);
  svc->unsubscribe(&a->table, id2);
  svc->unsubscribe(&a->table, id2);  // twice: refused, counted
  EXPECT_EQ(count("oemlink_host_service_failures_total"), ++failures);
}

TEST_F(HostServicesTest, SubscriptionsStillOpenAtDestroyAreEndedBeforeIt) {
  using uplink::testing::Broker;
  Broker broker(uplink::testing::free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  MqttInbox inbox;
  MqttRequest req(broker.port());
  const oemlink_mqtt_service* svc = mqtt_of(*a);
  uint64_t id =
      svc->subscribe(&a->table, req.get(), &MqttInbox::on_message, &MqttInbox::on_status, &inbox);
  ASSERT_NE(id, 0u);
  MqttRequest beta_req(broker.port());
  MqttInbox beta_inbox;
  uint64_t beta_id = mqtt_of(*b)->subscribe(&b->table, beta_req.get(), &MqttInbox::on_message,
                                            &MqttInbox::on_status, &beta_inbox);
  ASSERT_NE(beta_id, 0u);
  ASSERT_TRUE(inbox.wait(0, 1));
  ASSERT_TRUE(beta_inbox.wait(0, 1));

  drivers->destroy_idle({0, 1});  // alpha only: beta is "busy"
  EXPECT_EQ(driver_a.destroys, 1);
  EXPECT_EQ(mqtt->open_count(), 1u) << "alpha's subscription ended, beta's still open";
  ASSERT_TRUE(uplink::testing::publish(broker.port(), "telemetry/VIN1/v/Soc", "1"));
  ASSERT_TRUE(beta_inbox.wait(1));
  EXPECT_EQ(inbox.count(), 0u) << "nothing reaches a destroyed instance";
  // The driver's own handle unsubscribing during destroy is not an error.
  svc->unsubscribe(&a->table, id);
  EXPECT_EQ(count("oemlink_host_service_failures_total"), 0u);
  mqtt_of(*b)->unsubscribe(&b->table, beta_id);
}

TEST_F(HostServicesTest, WithoutTheHostThereIsNoMqttService) {
  drivers->detach_services();
  EXPECT_EQ(a->table.get_service(&a->table, OEMLINK_SERVICE_MQTT), nullptr);
  EXPECT_EQ(a->table.get_service(&a->table, nullptr), nullptr);
}

}  // namespace
}  // namespace oemlink::host

namespace oemlink::host {
namespace {

oemlink_status OEMLINK_CALL no_webhook(oemlink_instance*, const oemlink_http_request*,
                                       oemlink_webhook_respond_fn, void*) {
  return OEMLINK_ERROR;
}

TEST_F(HostServicesTest, WebhookUrlServiceNamesTheInstancesRouteOnlyWhenThereIsAListener) {
  oemlink_driver hooked = *testing::scripted_descriptor();
  hooked.capabilities |= OEMLINK_CAP_WEBHOOK;
  hooked.webhook = &no_webhook;
  config::DriverConfig dc;
  dc.name = "gamma";
  testing::ScriptedDriver driver_c;
  DriverInstance& c = drivers->adopt(dc, &hooked, testing::instance_of(driver_c), services.get());

  // No listener configured: the service is absent.
  EXPECT_EQ(c.table.get_service(&c.table, OEMLINK_SERVICE_WEBHOOK_URL), nullptr);

  services->set_public_url("https://hooks.example.com/base");
  auto* svc = static_cast<const oemlink_webhook_url_service*>(
      c.table.get_service(&c.table, OEMLINK_SERVICE_WEBHOOK_URL));
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->struct_size, sizeof(oemlink_webhook_url_service));
  const std::string want = "https://hooks.example.com/base/webhooks/gamma";
  char small[8];
  size_t size = 0;
  EXPECT_EQ(svc->webhook_url(&c.table, small, sizeof small, &size), OEMLINK_RETRY);
  EXPECT_EQ(size, want.size());
  std::string buf(64, '\0');
  ASSERT_EQ(svc->webhook_url(&c.table, buf.data(), buf.size(), &size), OEMLINK_OK);
  EXPECT_EQ(buf.substr(0, size), want);
  // A driver without webhooks has no URL; an unknown service id is absent.
  EXPECT_EQ(a->table.get_service(&a->table, OEMLINK_SERVICE_WEBHOOK_URL), nullptr);
  EXPECT_EQ(c.table.get_service(&c.table, "oemlink.nothing/1"), nullptr);
  drivers->detach_services();
  EXPECT_EQ(c.table.get_service(&c.table, OEMLINK_SERVICE_WEBHOOK_URL), nullptr);
}

}  // namespace
}  // namespace oemlink::host
