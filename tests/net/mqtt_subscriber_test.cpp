// MqttSubscriber against a real mosquitto broker started per test (tests/uplink's fixture):
// delivery with wildcards, reconnect and re-subscribe after the broker dies, the persistent
// session that keeps QoS 1 messages while we are away, stop() racing a callback, TLS.
#include "core/net/mqtt_subscriber.hpp"

#include "tests/net/test_pki.hpp"
#include "tests/uplink/mqtt_test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace oemlink::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using uplink::testing::Broker;
using uplink::testing::BrokerTls;
using uplink::testing::free_port;
using uplink::testing::publish;
using namespace std::chrono_literals;

// What a subscriber reported, waited on from the test thread.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> messages;
  std::vector<std::pair<bool, std::string>> statuses;

  MqttSubscriber::OnMessage on_message() {
    return [this](std::string_view topic, std::string_view payload) {
      std::lock_guard lock(mu);
      messages.emplace_back(topic, payload);
      cv.notify_all();
    };
  }
  MqttSubscriber::OnStatus on_status() {
    return [this](bool up, const std::string& msg) {
      std::lock_guard lock(mu);
      statuses.emplace_back(up, msg);
      cv.notify_all();
    };
  }
  bool wait_messages(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return messages.size() >= n; });
  }
  // Waits for the n-th "connected" (1-based).
  bool wait_connected(size_t n = 1, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      size_t ups = 0;
      for (auto& [up, m] : statuses) ups += up;
      return ups >= n;
    });
  }
  bool wait_down(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      for (auto& [up, m] : statuses)
        if (!up) return true;
      return false;
    });
  }
  size_t message_count() {
    std::lock_guard lock(mu);
    return messages.size();
  }
  std::string all_statuses() {
    std::lock_guard lock(mu);
    std::string all;
    for (auto& [up, m] : statuses) all += (up ? "up: " : "down: ") + m + "\n";
    return all;
  }
};

MqttSubscriberOptions options(int port, std::vector<std::string> topics, int qos = 1) {
  MqttSubscriberOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port);
  o.client_id = "oemlink-test-" + std::to_string(port);
  o.persistent_session = qos == 1;
  o.qos = qos;
  o.topics = std::move(topics);
  o.reconnect_min = 100ms;
  o.reconnect_max = 400ms;
  return o;
}

TEST(MqttSubscriber, DeliversTopicAndPayloadForEveryMatchingFilter) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  Recorder r;
  MqttSubscriber sub(options(broker.port(), {"telemetry/+/v/#", "telemetry/+/connectivity"}),
                     r.on_message(), r.on_status());
  ASSERT_TRUE(r.wait_connected()) << r.all_statuses();
  EXPECT_THAT(r.all_statuses(), HasSubstr("subscribed to 2 topic(s)"));
  const std::string binary("{\"v\":1}\0tail", 12);
  ASSERT_TRUE(
      publish(broker.port(), "telemetry/5YJ3E1EA1KF000001/v/VehicleSpeed", "{\"value\":42}"));
  ASSERT_TRUE(publish(broker.port(), "other/5YJ3E1EA1KF000001/v/VehicleSpeed", "nope"));
  ASSERT_TRUE(publish(broker.port(), "telemetry/5YJ3E1EA1KF000002/connectivity", binary));
  ASSERT_TRUE(publish(broker.port(), "telemetry/5YJ3E1EA1KF000002/v/Odometer/extra", "7"));
  ASSERT_TRUE(r.wait_messages(3));
  std::this_thread::sleep_for(200ms);  // nothing else may come
  std::lock_guard lock(r.mu);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].first, "telemetry/5YJ3E1EA1KF000001/v/VehicleSpeed");
  EXPECT_EQ(r.messages[0].second, "{\"value\":42}");
  EXPECT_EQ(r.messages[1].first, "telemetry/5YJ3E1EA1KF000002/connectivity");
  EXPECT_EQ(r.messages[1].second, binary) << "payloads are bytes, NUL included";
  EXPECT_EQ(r.messages[2].first, "telemetry/5YJ3E1EA1KF000002/v/Odometer/extra");
}

TEST(MqttSubscriber, ReconnectsAfterTheBrokerDiesAndSubscribesAgain) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  Recorder r;
  // QoS 0, clean session: a restarted broker knows nothing of us, so messages after the restart
  // arrive only if every topic was subscribed again.
  MqttSubscriber sub(options(broker.port(), {"cars/#"}, 0), r.on_message(), r.on_status());
  ASSERT_TRUE(r.wait_connected()) << r.all_statuses();
  broker.kill();
  ASSERT_TRUE(r.wait_down()) << r.all_statuses();
  EXPECT_THAT(r.all_statuses(), HasSubstr("connection to broker 127.0.0.1:"));
  EXPECT_FALSE(sub.connected());
  std::this_thread::sleep_for(600ms);  // a few failed attempts while it is down
  ASSERT_TRUE(broker.start()) << broker.log();
  ASSERT_TRUE(r.wait_connected(2, 5s)) << r.all_statuses();
  ASSERT_TRUE(publish(broker.port(), "cars/1/speed", "88", 0));
  ASSERT_TRUE(r.wait_messages(1)) << r.all_statuses();
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.messages[0].second, "88");
}

TEST(MqttSubscriber, WithQos1ThePersistentSessionDeliversWhatWasPublishedWhileAway) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  {
    Recorder r;
    MqttSubscriber sub(options(broker.port(), {"cars/#"}, 1), r.on_message(), r.on_status());
    ASSERT_TRUE(r.wait_connected()) << r.all_statuses();
    EXPECT_THAT(r.all_statuses(), HasSubstr("(new session)"));
  }  // gone: the broker keeps the session
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(publish(broker.port(), "cars/1/odometer", std::to_string(1000 + i)));
  Recorder r;
  MqttSubscriber sub(options(broker.port(), {"cars/#"}, 1), r.on_message(), r.on_status());
  ASSERT_TRUE(r.wait_messages(3)) << r.all_statuses();
  EXPECT_TRUE(r.wait_connected());
  EXPECT_THAT(r.all_statuses(), HasSubstr("(session resumed)"));
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.messages[0].second, "1000");
  EXPECT_EQ(r.messages[2].second, "1002");
}

TEST(MqttSubscriber, WithQos0NothingIsKeptWhileAway) {
  // The control for the test above: without a persistent session the same sequence loses them.
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  {
    Recorder r;
    MqttSubscriber sub(options(broker.port(), {"cars/#"}, 0), r.on_message(), r.on_status());
    ASSERT_TRUE(r.wait_connected()) << r.all_statuses();
  }
  ASSERT_TRUE(publish(broker.port(), "cars/1/odometer", "1000"));
  Recorder r;
  MqttSubscriber sub(options(broker.port(), {"cars/#"}, 0), r.on_message(), r.on_status());
  ASSERT_TRUE(r.wait_connected());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(r.message_count(), 0u);
}

TEST(MqttSubscriber, StopWaitsForARunningCallbackAndNothingRunsAfterIt) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  std::atomic<int> calls{0};
  std::atomic<bool> in_callback{false};
  std::atomic<bool> callback_finished{false};
  Recorder r;
  MqttSubscriber sub(
      options(broker.port(), {"cars/#"}),
      [&](std::string_view, std::string_view) {
        ++calls;
        in_callback = true;
        std::this_thread::sleep_for(300ms);
        callback_finished = true;
      },
      r.on_status());
  ASSERT_TRUE(r.wait_connected());
  ASSERT_TRUE(publish(broker.port(), "cars/1/speed", "1"));
  for (int i = 0; i < 200 && !in_callback; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(in_callback);
  sub.stop();
  EXPECT_TRUE(callback_finished) << "stop() returned while its callback was still running";
  ASSERT_TRUE(publish(broker.port(), "cars/1/speed", "2"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), 1);
}

TEST(MqttSubscriber, StopFromInsideItsOwnCallbackDoesNotDeadlock) {
  Broker broker(free_port());
  ASSERT_TRUE(broker.start()) << broker.log();
  std::atomic<int> calls{0};
  std::atomic<bool> stop_returned{false};
  Recorder r;
  std::unique_ptr<MqttSubscriber> sub;
  std::mutex sub_mu;
  {
    std::lock_guard lock(sub_mu);
    sub = std::make_unique<MqttSubscriber>(
        options(broker.port(), {"cars/#"}),
        [&](std::string_view, std::string_view) {
          ++calls;
          std::lock_guard lock(sub_mu);
          sub->stop();  // misuse the ABI forbids; must still not hang
          stop_returned = true;
        },
        r.on_status());
  }
  ASSERT_TRUE(r.wait_connected());
  ASSERT_TRUE(publish(broker.port(), "cars/1/speed", "1"));
  for (int i = 0; i < 300 && !stop_returned; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(stop_returned);
  ASSERT_TRUE(publish(broker.port(), "cars/1/speed", "2"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), 1);
  std::lock_guard lock(sub_mu);
  sub.reset();  // a second stop, from another thread: returns at once
}

TEST(MqttSubscriber, MalformedOptionsAreRefusedNamingTheFieldNeverThePassword) {
  auto why = [](auto edit) {
    MqttSubscriberOptions o = options(1883, {"a/b"});
    o.username = "fleet";
    o.password = "s3cret-pw";
    edit(o);
    return MqttSubscriber::check(o);
  };
  EXPECT_EQ(why([](auto&) {}), "");
  EXPECT_EQ(why([](auto& o) { o.host.clear(); }), "host is empty");
  EXPECT_EQ(why([](auto& o) { o.client_id.clear(); }), "client_id is empty");
  EXPECT_EQ(why([](auto& o) { o.qos = 2; }), "qos 2 (must be 0 or 1)");
  EXPECT_EQ(why([](auto& o) { o.keepalive_s = 2; }), "keepalive_s 2 (must be 5-65535)");
  EXPECT_EQ(why([](auto& o) { o.topics.clear(); }), "no topics");
  EXPECT_THAT(why([](auto& o) { o.topics.push_back("a/#/b"); }),
              HasSubstr("topic 1 'a/#/b' is not a valid topic filter"));
  EXPECT_THAT(why([](auto& o) { o.topics = {"car+/x"}; }),
              HasSubstr("topic 0 'car+/x' is not a valid topic filter"));
  EXPECT_THAT(why([](auto& o) { o.topics = {""}; }), HasSubstr("topic 0 is empty"));
  EXPECT_THAT(why([](auto& o) { o.cert_file = "/tmp/c.pem"; }),
              HasSubstr("needs both cert_file and key_file"));
  EXPECT_THAT(why([](auto& o) {
                o.cert_file = "/tmp/c.pem";
                o.key_file = "/tmp/k.pem";
              }),
              HasSubstr("needs TLS: set ca_file"));
  EXPECT_THAT(why([](auto& o) { o.ca_file = "/nonexistent/ca.pem"; }),
              HasSubstr("ca_file /nonexistent/ca.pem cannot be read"));
  EXPECT_THAT(why([](auto& o) { o.username.clear(); }), HasSubstr("a password needs a username"));
  EXPECT_THAT(why([](auto& o) { o.password += std::string(1, '\0'); }), Not(HasSubstr("s3cret")));
  EXPECT_THROW(MqttSubscriber(options(1883, {}), [](auto, auto) {}, {}), std::invalid_argument);
}

TEST(MqttSubscriber, TlsVerifiesTheBrokerAndPresentsAClientCertificate) {
  testing::TestPki pki;
  int plain = free_port();
  Broker broker(free_port(), {}, {},
                BrokerTls{pki.ca_cert(), pki.server_cert(), pki.server_key(), true, plain});
  ASSERT_TRUE(broker.start()) << broker.log();
  ASSERT_TRUE(uplink::testing::wait_for_port(plain, 5s));

  Recorder r;
  MqttSubscriberOptions o = options(broker.port(), {"cars/#"});
  o.ca_file = pki.ca_cert();
  o.cert_file = pki.client_cert();
  o.key_file = pki.client_key();
  MqttSubscriber sub(o, r.on_message(), r.on_status());
  ASSERT_TRUE(r.wait_connected()) << r.all_statuses() << broker.log();
  ASSERT_TRUE(publish(plain, "cars/1/speed", "over tls"));
  ASSERT_TRUE(r.wait_messages(1));

  // A broker certificate from a CA we were not told to trust is refused, and retried.
  Recorder rogue;
  MqttSubscriberOptions ro = options(broker.port(), {"cars/#"});
  ro.client_id = "oemlink-test-rogue";
  ro.ca_file = pki.rogue_cert();
  ro.cert_file = pki.client_cert();
  ro.key_file = pki.client_key();
  MqttSubscriber bad(ro, rogue.on_message(), rogue.on_status());
  ASSERT_TRUE(rogue.wait_down()) << rogue.all_statuses();
  EXPECT_FALSE(bad.connected());
  EXPECT_THAT(rogue.all_statuses(), HasSubstr("cannot connect to broker 127.0.0.1:"));
}

}  // namespace
}  // namespace oemlink::net
