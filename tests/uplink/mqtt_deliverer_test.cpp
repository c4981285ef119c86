#include "core/uplink/mqtt_deliverer.hpp"

#include "tests/uplink/mqtt_test_support.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <set>
#include <thread>

namespace oemlink::uplink {
namespace {

using namespace std::chrono_literals;
using testing::Broker;
using testing::Subscriber;
using Kind = DeliveryResult::Kind;

constexpr const char* kContract = "0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF";

store::OutboxRecord make_record(uint64_t seq, std::string connection, uint64_t token) {
  store::OutboxRecord r;
  r.seq = seq;
  r.event_id = "ev-" + std::to_string(seq);
  r.connection_id = std::move(connection);
  // Spacing, escapes and non-ASCII text: the payload must arrive exactly as stored.
  r.json = "{\"id\":\"" + r.event_id + "\", \"subject\":\"did:erc721:137:" + kContract + ":" +
           std::to_string(token) +
           "\",\"data\":{\"note\":\"caf\xc3\xa9 \\\"q\\\"\",\"n\":" + std::to_string(seq) + "}}";
  return r;
}

// Records every done: how often per seq, and whether any ran off the loop thread.
class Outcomes {
 public:
  DeliveryDone done_for(uint64_t seq) {
    return [this, seq](DeliveryResult r) {
      if (std::this_thread::get_id() != loop_thread_) off_loop_ = true;
      results_[seq].push_back(std::move(r));
      ++calls_;
    };
  }
  size_t calls() const { return calls_; }
  bool off_loop() const { return off_loop_; }
  const std::vector<DeliveryResult>& of(uint64_t seq) { return results_[seq]; }
  bool each_once(uint64_t first, uint64_t last) {
    for (uint64_t s = first; s <= last; ++s)
      if (results_[s].size() != 1) return false;
    return true;
  }

 private:
  std::thread::id loop_thread_ = std::this_thread::get_id();
  std::map<uint64_t, std::vector<DeliveryResult>> results_;
  size_t calls_ = 0;
  bool off_loop_ = false;
};

class MqttDelivererTest : public ::testing::Test {
 protected:
  MqttDelivererTest() : port_(testing::free_port()) {
    cfg_.host = "127.0.0.1";
    cfg_.port = static_cast<uint32_t>(port_);
    cfg_.client_id = "oemlink-test-" + std::to_string(port_);
    cfg_.topic = "fleet/{connection}/{vehicle_token}/events";
    options_.publish_timeout = 10s;
    options_.reconnect_min = 50ms;
    options_.reconnect_max = 200ms;
  }

  std::unique_ptr<MqttDeliverer> make() {
    return std::make_unique<MqttDeliverer>("mqtt-test", cfg_, io_, options_);
  }

  template <typename Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io_.run_for(5ms);
    }
    return true;
  }

  void run_for(std::chrono::milliseconds d) { io_.run_for(d); }

  bool wait_connected(MqttDeliverer& d) {
    return run_until([&] { return d.connected(); }, 5s);
  }

  int port_;
  config::MqttSinkConfig cfg_;
  MqttDelivererOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  Outcomes out_;
};

TEST_F(MqttDelivererTest, DeliversEachEventOnceToItsTopicByteForByte) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start()) << broker.log();
  Subscriber sub(port_, "fleet/#");
  ASSERT_TRUE(sub.ready());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  EXPECT_EQ(d->name(), "mqtt-test");
  EXPECT_EQ(d->max_in_flight(), 256u);

  std::map<std::string, store::OutboxRecord> sent;  // by event id
  const char* connections[] = {"tesla-eu", "smartcar.1", "a:b_c-d"};
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    auto rec = make_record(seq, connections[seq % 3], 1000 + seq % 7);
    sent[rec.event_id] = rec;
    d->deliver(rec, out_.done_for(seq));
  }
  ASSERT_TRUE(run_until([&] { return out_.calls() >= 100; }, 10s)) << out_.calls();
  EXPECT_TRUE(out_.each_once(1, 100));
  EXPECT_FALSE(out_.off_loop());
  for (uint64_t seq = 1; seq <= 100; ++seq)
    EXPECT_EQ(out_.of(seq).front().kind, Kind::delivered) << out_.of(seq).front().detail;

  ASSERT_TRUE(sub.wait_for(100, 5s));
  run_for(200ms);  // anything extra (a duplicate) would show up now
  auto got = sub.messages();
  ASSERT_EQ(got.size(), 100u);
  std::set<std::string> seen;
  for (const auto& m : got) {
    std::string id = m.payload.substr(7, m.payload.find('"', 7) - 7);
    ASSERT_TRUE(sent.count(id)) << m.payload;
    const auto& rec = sent[id];
    EXPECT_TRUE(seen.insert(id).second) << "published twice: " << id;
    EXPECT_EQ(m.payload, rec.json);
    EXPECT_EQ(m.topic,
              "fleet/" + rec.connection_id + "/" + std::to_string(1000 + rec.seq % 7) + "/events");
  }
  d->shutdown();
}

TEST_F(MqttDelivererTest, EventsThatCannotMakeATopicAreRejected) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  auto bad_conn = make_record(1, "conn+x", 5);
  auto no_subject = make_record(2, "conn", 5);
  no_subject.json = R"({"id":"ev-2","data":{}})";
  d->deliver(bad_conn, out_.done_for(1));
  d->deliver(no_subject, out_.done_for(2));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 2; }, 2s));
  EXPECT_EQ(out_.of(1).front().kind, Kind::rejected);
  EXPECT_NE(out_.of(1).front().detail.find("'+'"), std::string::npos);
  EXPECT_EQ(out_.of(2).front().kind, Kind::rejected);
  d->shutdown();
}

TEST_F(MqttDelivererTest, BrokerDownAtStartRetriesThenReconnects) {
  Broker broker(port_);  // configured, not started
  auto d = make();
  auto t0 = std::chrono::steady_clock::now();
  d->deliver(make_record(1, "c", 1), out_.done_for(1));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 1; }, 1s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_EQ(out_.of(1).front().kind, Kind::retry);
  EXPECT_NE(out_.of(1).front().detail.find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << out_.of(1).front().detail;

  run_for(300ms);  // a few failed attempts, to exercise the back-off
  ASSERT_TRUE(broker.start()) << broker.log();
  ASSERT_TRUE(wait_connected(*d));
  for (uint64_t seq = 2; seq <= 11; ++seq) d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 11; }, 5s));
  EXPECT_TRUE(out_.each_once(1, 11));
  for (uint64_t seq = 2; seq <= 11; ++seq) EXPECT_EQ(out_.of(seq).front().kind, Kind::delivered);
  d->shutdown();
}

TEST_F(MqttDelivererTest, BrokerKilledMidStreamFailsInFlightWithRetryOnce) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  for (uint64_t seq = 1; seq <= 20; ++seq) d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 20; }, 5s));

  broker.freeze();  // publishes go out, PUBACKs never come back
  for (uint64_t seq = 21; seq <= 60; ++seq)
    d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  run_for(200ms);
  EXPECT_EQ(out_.calls(), 20u);
  auto t0 = std::chrono::steady_clock::now();
  broker.kill();
  ASSERT_TRUE(run_until([&] { return out_.calls() == 60; }, 3s)) << out_.calls();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // not the 10 s PUBACK timeout
  for (uint64_t seq = 21; seq <= 60; ++seq) {
    EXPECT_EQ(out_.of(seq).front().kind, Kind::retry);
    EXPECT_NE(out_.of(seq).front().detail.find("lost"), std::string::npos)
        << out_.of(seq).front().detail;
  }

  // Back up on the same port: libmosquitto re-sends the unconfirmed ones, whose PUBACKs must
  // not reach the dones already answered.
  ASSERT_TRUE(broker.start());
  ASSERT_TRUE(wait_connected(*d));
  for (uint64_t seq = 61; seq <= 70; ++seq)
    d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 70; }, 5s));
  run_for(300ms);
  EXPECT_EQ(out_.calls(), 70u);
  EXPECT_TRUE(out_.each_once(1, 70));
  EXPECT_FALSE(out_.off_loop());
  for (uint64_t seq = 61; seq <= 70; ++seq) EXPECT_EQ(out_.of(seq).front().kind, Kind::delivered);
  d->shutdown();
}

TEST_F(MqttDelivererTest, OverduePubackIsRetriedAndTheConnectionRenewed) {
  options_.publish_timeout = 300ms;
  Broker broker(port_);
  ASSERT_TRUE(broker.start());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  broker.freeze();
  d->deliver(make_record(1, "c", 1), out_.done_for(1));
  ASSERT_TRUE(run_until([&] { return out_.calls() == 1; }, 2s));
  EXPECT_EQ(out_.of(1).front().kind, Kind::retry);
  EXPECT_NE(out_.of(1).front().detail.find("no PUBACK"), std::string::npos);
  broker.thaw();
  // Deliveries resume once the connection has been renewed; until then they are retries.
  uint64_t seq = 1;
  ASSERT_TRUE(run_until(
      [&] {
        if (out_.calls() < seq) return false;
        if (seq > 1 && out_.of(seq).front().kind == Kind::delivered) return true;
        ++seq;
        d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
        return false;
      },
      5s));
  for (uint64_t s = 2; s < seq; ++s) EXPECT_EQ(out_.of(s).front().kind, Kind::retry);
  run_for(200ms);
  EXPECT_TRUE(out_.each_once(1, seq));
  d->shutdown();
}

TEST_F(MqttDelivererTest, WrongPasswordIsRetriedWithAReasonNamingTheBroker) {
  const std::string secret = "s3cret-Passw0rd-xyz";
  Broker broker(port_, "oemlink", "right-one");
  ASSERT_TRUE(broker.start()) << broker.log();
  cfg_.username = "oemlink";
  cfg_.password = secret;
  auto d = make();
  uint64_t seq = 0;
  std::string detail;
  // The first answers may say "connecting"; wait for the broker's verdict.
  ASSERT_TRUE(run_until(
      [&] {
        if (out_.calls() == seq) {
          if (seq > 0) detail = out_.of(seq).front().detail;
          if (detail.find("refused") != std::string::npos) return true;
          ++seq;
          d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
        }
        return false;
      },
      5s))
      << detail;
  EXPECT_EQ(out_.of(seq).front().kind, Kind::retry);
  EXPECT_NE(detail.find("127.0.0.1:" + std::to_string(port_)), std::string::npos) << detail;
  EXPECT_EQ(detail.find(secret), std::string::npos);
  EXPECT_FALSE(d->connected());
  d->shutdown();

  cfg_.password = "right-one";
  auto good = make();
  ASSERT_TRUE(wait_connected(*good));
  good->deliver(make_record(1000, "c", 1), out_.done_for(1000));
  ASSERT_TRUE(run_until([&] { return out_.of(1000).size() == 1; }, 5s));
  EXPECT_EQ(out_.of(1000).front().kind, Kind::delivered);
  good->shutdown();
}

// `tls: true` without a ca_file still speaks TLS (checked against the system store): against a
// plain listener it never connects, where the same sink without TLS does.
TEST_F(MqttDelivererTest, TlsWithoutCaFileIsTlsAgainstTheSystemStore) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start()) << broker.log();
  cfg_.tls = true;
  auto tls = make();
  run_for(1s);
  EXPECT_FALSE(tls->connected());
  tls->shutdown();
  cfg_.tls = false;
  auto plain = make();
  EXPECT_TRUE(wait_connected(*plain));
  plain->shutdown();
}

TEST_F(MqttDelivererTest, ShutdownAnswersEverythingInFlightAndNothingAfter) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  broker.freeze();
  for (uint64_t seq = 1; seq <= 10; ++seq) d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  // One whose answer is already decided and posted, but not yet run.
  d->deliver(make_record(11, "bad+conn", 1), out_.done_for(11));
  run_for(100ms);
  size_t before = out_.calls();  // 11 may have run already
  auto t0 = std::chrono::steady_clock::now();
  d->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(out_.calls(), 11u) << "before shutdown: " << before;
  for (uint64_t seq = 1; seq <= 10; ++seq) EXPECT_EQ(out_.of(seq).front().kind, Kind::retry);
  EXPECT_FALSE(out_.off_loop());

  d->deliver(make_record(12, "c", 1), out_.done_for(12));  // answered at once
  EXPECT_EQ(out_.calls(), 12u);
  EXPECT_EQ(out_.of(12).front().kind, Kind::retry);
  broker.thaw();
  d.reset();  // the destructor after shutdown is a no-op
  run_for(300ms);
  EXPECT_EQ(out_.calls(), 12u);
  EXPECT_TRUE(out_.each_once(1, 12));
}

TEST_F(MqttDelivererTest, DestructorWithoutShutdownIsSafe) {
  Broker broker(port_);
  ASSERT_TRUE(broker.start());
  auto d = make();
  ASSERT_TRUE(wait_connected(*d));
  broker.freeze();
  for (uint64_t seq = 1; seq <= 5; ++seq) d->deliver(make_record(seq, "c", 1), out_.done_for(seq));
  d.reset();
  EXPECT_EQ(out_.calls(), 5u);
  run_for(200ms);  // handlers still queued for the dead deliverer must do nothing
  EXPECT_TRUE(out_.each_once(1, 5));
  broker.thaw();
}

TEST(MqttDelivererSetup, ClientCertWithoutCaFileIsRefused) {
  boost::asio::io_context io;
  config::MqttSinkConfig cfg;
  cfg.client_cert = "/nonexistent/cert.pem";
  EXPECT_THROW(MqttDeliverer("m", cfg, io), std::runtime_error);
  cfg.ca_file = "/nonexistent/ca.pem";
  try {
    MqttDeliverer d("m", cfg, io);
    ADD_FAILURE() << "unreadable ca_file accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ca_file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oemlink::uplink
