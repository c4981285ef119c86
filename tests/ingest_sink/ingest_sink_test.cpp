// End to end against the real oemlink-ingest-sink process: mutual TLS, DIS's validation rules,
// the store, fault injection, /stats and clean shutdown.
#include "core/common/json_member.hpp"
#include "core/pipeline/event_verifier.hpp"
#include "tests/ingest_sink/signed_event.hpp"
#include "tests/ingest_sink/sink_client.hpp"
#include "tests/ingest_sink/sink_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace oemlink::ingest_sink::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class IngestSink : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "oemlink-ingest-sink-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = new fs::path(pattern);
    const std::string command = std::string(OEMLINK_SOURCE_DIR "/tools/make-test-pki.sh '") +
                                (*dir_ / "pki").string() + "' >/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  static std::string pki(const char* name) { return (*dir_ / "pki" / name).string(); }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  // The sink with its certificates plus `extra` flags; its log goes to <test name>.log.
  std::unique_ptr<SinkProcess> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--cert", pki("server.crt"), "--key", pki("server.key"),
                                     "--ca",   pki("ca.crt")};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log =
        path(::testing::UnitTest::GetInstance()->current_test_info()->name() + std::string(".log"));
    return std::make_unique<SinkProcess>(args, log);
  }

  static SinkClient client(const SinkProcess& sink, const char* cert = "client.crt",
                           const char* key = "client.key") {
    return SinkClient(sink.port(), pki("ca.crt"), {cert ? pki(cert) : "", key ? pki(key) : ""});
  }

  static boost::json::object stats(const SinkProcess& sink) {
    auto answer = client(sink).get("/stats");
    if (!answer || answer->status != 200) return {};
    return boost::json::parse(answer->body).as_object();
  }

  static int64_t stat(const SinkProcess& sink, const char* name) {
    auto s = stats(sink);
    return s.contains(name) ? s.at(name).to_number<int64_t>() : -1;
  }

  static std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  const crypto::PrivateKey key_ = test_key(0x11);
  static fs::path* dir_;
};
fs::path* IngestSink::dir_ = nullptr;

TEST_F(IngestSink, GoodSignedEventIsAcceptedAndStoredWithClientCn) {
  auto sink = start({"--store", path("good.jsonl"), "--require-signature"});
  const std::string body = signed_event(key_, {});
  auto answer = client(*sink).post(body);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200u) << answer->body;
  EXPECT_EQ(stat(*sink, "accepted"), 1);

  const auto stored = lines(path("good.jsonl"));
  ASSERT_EQ(stored.size(), 1u);
  const auto event = boost::json::parse(stored[0]).as_object();
  EXPECT_EQ(event.at("_client_cn").as_string(), kClientCn);
  EXPECT_EQ(event.at("id").as_string(), "evt-1");
  // The stored line keeps `data` byte for byte, so the signature still verifies from the file.
  const auto verified = pipeline::verify_event_line(stored[0]);
  ASSERT_TRUE(verified.ok) << verified.reason;
  EXPECT_EQ(*verified.signer, crypto::address_of(key_));
}

TEST_F(IngestSink, MalformedEventsGet400WithAOneLineReason) {
  auto sink = start();
  SinkClient c = client(*sink);
  auto expect_400 = [&](const std::string& body, const std::string& reason_part) {
    auto answer = c.post(body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400u) << body;
    EXPECT_NE(answer->body.find(reason_part), std::string::npos) << answer->body;
    EXPECT_EQ(answer->body.find('\n'), answer->body.size() - 1) << "one line";
  };
  EventSpec bad_id;
  bad_id.id = "evt 1!";
  expect_400(signed_event(key_, bad_id), "id \"evt 1!\" does not match");
  EventSpec bad_subject;
  bad_subject.subject = "did:erc721:137:0xbA57#1001";
  expect_400(signed_event(key_, bad_subject), "subject");
  EventSpec bad_type;
  bad_type.type = "dimo.status;drop";
  expect_400(signed_event(key_, bad_type), "type");
  expect_400("not json", "not JSON");
  expect_400("[1,2]", "not a JSON object");
  expect_400(R"({"specversion":"0.3","id":"x"})", "specversion");
  std::string no_producer = signed_event(key_, {});
  no_producer.replace(no_producer.find("\"producer\""), 10, "\"producerX\"");
  expect_400(no_producer, "missing or non-string field producer");
  std::string bad_time = signed_event(key_, {});
  bad_time.replace(bad_time.find("\"time\":\"") + 8, 20, "2025-03-04 12:01:00Z");
  expect_400(bad_time, "not RFC 3339");
  EXPECT_EQ(stat(*sink, "rejected_400"), 8);
  EXPECT_EQ(stat(*sink, "accepted"), 0);
}

TEST_F(IngestSink, HeaderOver8KiBIsRejectedAndJustUnderIsAccepted) {
  auto sink = start();
  SinkClient c = client(*sink);
  const std::string base = signed_event(key_, {});
  const std::string data = std::string(*raw_json_member(base, "data"));
  const size_t base_header = base.size() - data.size();
  // `,"pad":"…"` adds 10 bytes plus the padding.
  EventSpec fits, too_big;
  fits.extra_member = "\"pad\":\"" + std::string(8192 - base_header - 9, 'x') + "\"";
  too_big.extra_member = "\"pad\":\"" + std::string(8192 - base_header - 8, 'x') + "\"";
  auto ok = c.post(signed_event(key_, fits));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u) << ok->body;
  auto rejected = c.post(signed_event(key_, too_big));
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 400u);
  EXPECT_NE(rejected->body.find("header is 8193 bytes"), std::string::npos) << rejected->body;
}

TEST_F(IngestSink, EventsMoreThanFiveMinutesAheadAreRejected) {
  auto sink = start();
  SinkClient c = client(*sink);
  EventSpec soon, too_far;
  soon.time = std::chrono::system_clock::now() + 4min;
  too_far.time = std::chrono::system_clock::now() + 6min;
  auto ok = c.post(signed_event(key_, soon));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u) << ok->body;
  auto rejected = c.post(signed_event(key_, too_far));
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 400u);
  EXPECT_NE(rejected->body.find("in the future"), std::string::npos) << rejected->body;
}

TEST_F(IngestSink, ExpectedAddressesByProducerCatchAWrongSigner) {
  const std::string expected = crypto::to_checksum_address(crypto::address_of(key_));
  std::ofstream(path("by_producer.json")) << "{\"" << kProducer << "\":\"" << expected << "\"}";
  auto sink = start({"--expect-addresses", path("by_producer.json")});
  SinkClient c = client(*sink);

  auto good = c.post(signed_event(key_, {}));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200u) << good->body;

  auto wrong = c.post(signed_event(test_key(0x22), {}));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 400u);
  EXPECT_NE(wrong->body.find("expected " + expected), std::string::npos) << wrong->body;

  EventSpec stranger;
  stranger.producer = "did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:9";
  auto unknown = c.post(signed_event(key_, stranger));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400u);
  EXPECT_NE(unknown->body.find("has no expected address"), std::string::npos) << unknown->body;

  std::string tampered = signed_event(key_, {});
  tampered.replace(tampered.find("\"value\":55"), 10, "\"value\":56");
  auto forged = c.post(tampered);
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 400u) << "data changed after signing";
}

TEST_F(IngestSink, ExpectedAddressListAcceptsAnyListedSigner) {
  std::ofstream(path("list.json"))
      << "[\"" << crypto::to_checksum_address(crypto::address_of(test_key(0x33))) << "\",\""
      << crypto::to_checksum_address(crypto::address_of(key_)) << "\"]";
  auto sink = start({"--expect-addresses", path("list.json")});
  SinkClient c = client(*sink);
  EXPECT_EQ(c.post(signed_event(key_, {}))->status, 200u);
  EXPECT_EQ(c.post(signed_event(test_key(0x33), {}))->status, 200u);
  auto wrong = c.post(signed_event(test_key(0x44), {}));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 400u);
  EXPECT_NE(wrong->body.find("not an expected address"), std::string::npos) << wrong->body;
}

TEST_F(IngestSink, ClientsWithoutATrustedValidCertificateFailTheHandshake) {
  auto sink = start();
  EXPECT_FALSE(client(*sink, nullptr, nullptr).get("/stats")) << "no client certificate";
  EXPECT_FALSE(client(*sink, "rogue-client.crt", "rogue-client.key").get("/stats"))
      << "client certificate from another CA";
  EXPECT_FALSE(client(*sink, "expired-client.crt", "expired-client.key").get("/stats"))
      << "expired client certificate";
  int64_t failures = 0;
  for (int i = 0; i < 50 && failures < 3; ++i, std::this_thread::sleep_for(20ms))
    failures = stat(*sink, "handshake_failures");
  EXPECT_EQ(failures, 3);
  EXPECT_EQ(stat(*sink, "requests"), 0);

  std::ifstream log(path("ClientsWithoutATrustedValidCertificateFailTheHandshake.log"));
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("certificate verify failed"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("certificate has expired"), std::string::npos) << text.str();
}

TEST_F(IngestSink, KeepAliveServesManyRequestsOnOneConnection) {
  auto sink = start({"--threads", "4"});
  SinkClient c = client(*sink);
  for (int i = 0; i < 10; ++i) {
    EventSpec spec;
    spec.id = "evt-" + std::to_string(i);
    auto answer = c.post(signed_event(key_, spec));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200u);
  }
  auto s = c.get("/stats");
  ASSERT_TRUE(s);
  EXPECT_EQ(c.connects(), 1);
  EXPECT_EQ(boost::json::parse(s->body).at("connections").as_int64(), 1);
  EXPECT_EQ(boost::json::parse(s->body).at("accepted").as_int64(), 10);
}

// Statuses for `n` sequential POSTs over one client; 0 = no answer.
std::vector<unsigned> statuses(SinkClient& c, const std::string& body, int n) {
  std::vector<unsigned> out;
  for (int i = 0; i < n; ++i) {
    auto answer = c.post(body);
    out.push_back(answer ? answer->status : 0);
  }
  return out;
}

TEST_F(IngestSink, InjectedFaultsFollowTheirRatesAndTheSeed) {
  const std::vector<std::string> flags = {"--fail-rate-500", "0.2", "--fail-rate-400", "0.1",
                                          "--drop-rate",     "0.1", "--seed",          "7"};
  const std::string body = signed_event(key_, {});
  constexpr int kRequests = 300;
  std::vector<unsigned> first, second;
  {
    auto sink = start(flags);
    SinkClient c = client(*sink);
    first = statuses(c, body, kRequests);
    auto s = stats(*sink);
    EXPECT_EQ(s.at("injected_500").as_int64(), std::count(first.begin(), first.end(), 500u));
    EXPECT_EQ(s.at("injected_400").as_int64(), std::count(first.begin(), first.end(), 400u));
    EXPECT_EQ(s.at("dropped").as_int64(), std::count(first.begin(), first.end(), 0u));
    EXPECT_EQ(s.at("accepted").as_int64(), std::count(first.begin(), first.end(), 200u));
    EXPECT_EQ(s.at("rejected_400").as_int64(), 0);
  }
  auto near = [](long count, double rate) {
    return std::abs(count - rate * kRequests) < 4 * std::sqrt(kRequests * rate * (1 - rate));
  };
  EXPECT_TRUE(near(std::count(first.begin(), first.end(), 500u), 0.2));
  EXPECT_TRUE(near(std::count(first.begin(), first.end(), 400u), 0.1));
  EXPECT_TRUE(near(std::count(first.begin(), first.end(), 0u), 0.1));
  {
    auto sink = start(flags);
    SinkClient c = client(*sink);
    second = statuses(c, body, kRequests);
  }
  EXPECT_EQ(first, second) << "same seed, same faults";
}

TEST_F(IngestSink, StalledRequestsAnswerLateWith500OrAClose) {
  auto sink = start({"--stall-rate", "1", "--stall-ms", "150"});
  SinkClient c = client(*sink);
  for (int i = 0; i < 4; ++i) {
    const auto started = std::chrono::steady_clock::now();
    auto answer = c.post(signed_event(key_, {}));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 140ms);
    if (answer) {
      EXPECT_EQ(answer->status, 500u);
    }
  }
  EXPECT_EQ(stat(*sink, "stalled"), 4);
  EXPECT_EQ(stat(*sink, "accepted"), 0);
}

TEST_F(IngestSink, DownAtStartAnswers503ThenRecovers) {
  auto sink = start({"--down-ms", "400"});
  SinkClient c = client(*sink);
  auto early = c.post(signed_event(key_, {}));
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 503u);
  std::this_thread::sleep_for(450ms);
  auto later = c.post(signed_event(key_, {}));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200u);
  EXPECT_EQ(stat(*sink, "down_503"), 1);
}

TEST_F(IngestSink, CountsEventsThatGoBackInTimePerSubject) {
  auto sink = start();
  SinkClient c = client(*sink);
  const auto t0 = std::chrono::system_clock::now() - 1h;
  auto send = [&](const char* subject, std::chrono::system_clock::time_point t) {
    EventSpec spec;
    spec.subject = subject;
    spec.time = t;
    auto answer = c.post(signed_event(key_, spec));
    return answer ? answer->status : 0u;
  };
  const char* car_a = "did:erc721:137:0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF:1";
  const char* car_b = "did:erc721:137:0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF:2";
  EXPECT_EQ(send(car_a, t0 + 10s), 200u);
  EXPECT_EQ(send(car_b, t0), 200u);        // another car: its own order
  EXPECT_EQ(send(car_a, t0 + 10s), 200u);  // equal is in order
  EXPECT_EQ(send(car_a, t0 + 5s), 200u);   // back in time: accepted, but counted
  EXPECT_EQ(send(car_a, t0 + 7s), 200u);   // still behind the newest seen
  EXPECT_EQ(send(car_a, t0 + 20s), 200u);
  EXPECT_EQ(stat(*sink, "order_violations"), 2);
  EXPECT_EQ(stat(*sink, "accepted"), 6);
}

TEST_F(IngestSink, SigtermExitsZeroWithEveryAcceptedEventStored) {
  const std::string store = path("sigterm.jsonl");
  auto sink = start({"--store", store});
  constexpr int kEvents = 50;
  {
    SinkClient c = client(*sink);
    for (int i = 0; i < kEvents; ++i) {
      EventSpec spec;
      spec.id = "evt-" + std::to_string(i);
      ASSERT_EQ(c.post(signed_event(key_, spec))->status, 200u);
    }
  }
  EXPECT_EQ(sink->stop(SIGTERM), 0);
  const auto stored = lines(store);
  ASSERT_EQ(stored.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    const auto event = boost::json::parse(stored[i]).as_object();
    EXPECT_EQ(event.at("id").as_string(), "evt-" + std::to_string(i));
  }
}

TEST_F(IngestSink, UnknownPathsAndMethodsAreRefused) {
  auto sink = start();
  SinkClient c = client(*sink);
  EXPECT_EQ(c.get("/")->status, 405u);
  EXPECT_EQ(c.get("/nope")->status, 404u);
  EXPECT_EQ(stat(*sink, "requests"), 0);
}

}  // namespace
}  // namespace oemlink::ingest_sink::testing
