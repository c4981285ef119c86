// smartcar-send against a recording receiver: signature vectors, retries and their delays,
// timeouts, forge/truncate/replay, generated payloads and the load mode.
#include "tests/tools/mock_smartcar/mock_process.hpp"
#include "tools/mock-oem/common/mock_http_server.hpp"

#include <map>
#include <mutex>
#include <set>

namespace oemlink::testing {
namespace {

namespace json = boost::json;
using mock_oem::MockHttpServer;
using mock_oem::Reply;
using mock_oem::Request;

const std::string kPizzaVector = "4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70";
const std::string kChallengeVector =
    "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e";

struct Received {
  std::string body, signature, content_type;
  std::chrono::steady_clock::time_point at;
};

// A webhook endpoint answering a scripted sequence of replies (the last one repeats).
class Receiver {
 public:
  explicit Receiver(std::vector<Reply> script, int threads = 2)
      : script_(std::move(script)),
        server_({.threads = threads}, [this](const Request& r) { return on(r); }),
        thread_([this] { server_.run(); }) {}
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/webhooks/sc";
  }
  std::vector<Received> got() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  Reply on(const Request& r) {
    std::lock_guard lock(mutex_);
    got_.push_back({r.body(), std::string(r["SC-Signature"]), std::string(r["Content-Type"]),
                    std::chrono::steady_clock::now()});
    return script_[std::min(got_.size() - 1, script_.size() - 1)];
  }
  std::mutex mutex_;
  std::vector<Reply> script_;
  std::vector<Received> got_;
  MockHttpServer server_;
  std::thread thread_;
};

Reply status(unsigned code, std::string body = "{}") {
  return Reply{code, "application/json", {}, std::move(body)};
}

json::value parse(const std::string& s) {
  boost::system::error_code ec;
  auto v = json::parse(s, ec);
  EXPECT_FALSE(ec) << s;
  return v;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(MockSmartcarSend, SignatureMatchesTheSpecVectorOverTheRawBody) {
  Receiver rx({status(200)});
  const auto dir = scratch_dir();
  auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--verbatim",
                     (kExamples / "signature_vector_pizza.json").string()},
                    dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, R"({"pizza":"pasta"})");
  EXPECT_EQ(got[0].signature, kPizzaVector);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_NE(r.out.find("result=delivered eventId=- attempts=1"), std::string::npos) << r.out;
}

TEST(MockSmartcarSend, VerifyChecksTheChallengeAnswer) {
  // The example VERIFY's challenge is "challenge": the right answer is the spec's vector.
  const auto dir = scratch_dir();
  {
    Receiver rx({status(200, R"({"challenge":")" + kChallengeVector + "\"}")});
    auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt",
                       (kExamples / "webhook_verify_4.0.json").string()},
                      dir);
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("verify=ok"), std::string::npos) << r.out;
    auto got = rx.got();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].signature, hmac_hex("amt", got[0].body));
  }
  {
    Receiver rx({status(200, R"({"challenge":")" + hmac_hex("other", "challenge") + "\"}")});
    auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt",
                       (kExamples / "webhook_verify_legacy_2.0.json").string()},
                      dir);
    EXPECT_EQ(r.rc, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("verify=mismatch"), std::string::npos) << r.out;
  }
}

TEST(MockSmartcarSend, RetriesAfterTheScaledDelaysAndStopsAtTheFirst2xx) {
  Receiver rx({status(500), status(503), status(204, "")});
  const auto dir = scratch_dir();
  auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--retry-delays-ms",
                     "200,600,1800", (kExamples / "webhook_vehicle_state_4.0.json").string()},
                    dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 3u);
  // Each retry waits its own delay: the first after 200 ms (not 600), the second after 600.
  EXPECT_GE(got[1].at - got[0].at, std::chrono::milliseconds(200));
  EXPECT_LT(got[1].at - got[0].at, std::chrono::milliseconds(600));
  EXPECT_GE(got[2].at - got[1].at, std::chrono::milliseconds(600));
  EXPECT_LT(got[2].at - got[1].at, std::chrono::milliseconds(1800));
  std::set<std::string> delivery_ids;
  int64_t last_delivered = 0;
  const std::string event_id = "bead8cd7-6527-42c1-acd5-0e293943907f";
  for (const auto& g : got) {
    EXPECT_EQ(g.signature, hmac_hex("amt", g.body));  // each attempt signed over its own bytes
    auto v = parse(g.body);
    EXPECT_EQ(v.at("eventId"), json::value(event_id));  // stable across retries
    delivery_ids.insert(std::string(v.at("meta").at("deliveryId").as_string()));
    const int64_t delivered = v.at("meta").at("deliveredAt").as_int64();
    EXPECT_GE(delivered, last_delivered);
    EXPECT_GT(delivered, 1'780'222'662'654);  // fresh, not the file's
    last_delivered = delivered;
    EXPECT_EQ(v.at("data").at("signals").as_array().size(), 11u);  // the rest untouched
  }
  EXPECT_EQ(delivery_ids.size(), 3u);  // new for each try
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 4u) << r.out;
  EXPECT_EQ(out[0].rfind("attempt=1 status=500 ", 0), 0u) << out[0];
  EXPECT_EQ(out[1].rfind("attempt=2 status=503 ", 0), 0u) << out[1];
  EXPECT_EQ(out[2].rfind("attempt=3 status=204 ", 0), 0u) << out[2];
  EXPECT_EQ(out[3], "result=delivered eventId=" + event_id + " attempts=3");
}

TEST(MockSmartcarSend, DropsAfterThreeRetriesAndCountsATimeoutAsAFailure) {
  Reply slow = status(200);
  slow.delay = std::chrono::milliseconds(400);
  Receiver rx({status(401), slow, status(500)});
  const auto dir = scratch_dir();
  auto r =
      run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--retry-delays-ms", "20,20,20",
                "--timeout-ms", "150", "--generate", "vehicle_state", "--vehicle", kVw},
               dir);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_EQ(rx.got().size(), 4u);
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 5u) << r.out;
  EXPECT_EQ(out[0].rfind("attempt=1 status=401 ", 0), 0u);
  EXPECT_EQ(out[1].rfind("attempt=2 status=0 ", 0), 0u);  // 2xx too late: not delivered
  EXPECT_NE(out[1].find("error=\"timeout\""), std::string::npos) << out[1];
  EXPECT_EQ(out[4].rfind("result=dropped ", 0), 0u);
  EXPECT_NE(out[4].find("attempts=4"), std::string::npos);
}

TEST(MockSmartcarSend, ForgeSignsWithAWrongKey) {
  Receiver rx({status(401)});
  const auto dir = scratch_dir();
  auto r =
      run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--forge", "--retry-delays-ms",
                "", (kExamples / "webhook_vehicle_error_4.0.json").string()},
               dir);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].signature.size(), 64u);
  EXPECT_NE(got[0].signature, hmac_hex("amt", got[0].body));
  EXPECT_EQ(parse(got[0].body).at("eventType"), "VEHICLE_ERROR");  // the body itself is intact
}

TEST(MockSmartcarSend, TruncateAltersTheBodyAfterSigning) {
  Receiver rx({status(401)});
  const auto dir = scratch_dir();
  auto r =
      run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--truncate",
                "--retry-delays-ms", "", (kExamples / "webhook_vehicle_state_4.0.json").string()},
               dir);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].signature, hmac_hex("amt", got[0].body));
  EXPECT_EQ(got[0].signature, hmac_hex("amt", got[0].body + "}"));  // signed before the cut
}

TEST(MockSmartcarSend, ReplayDeliversTheSameEventIdAgainAfterA2xx) {
  Receiver rx({status(200)});
  const auto dir = scratch_dir();
  auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--replay",
                     (kExamples / "webhook_vehicle_state_4.0_data_triggers.json").string()},
                    dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 2u);
  auto a = parse(got[0].body), b = parse(got[1].body);
  EXPECT_EQ(a.at("eventId"), b.at("eventId"));
  EXPECT_NE(a.at("meta").at("deliveryId"), b.at("meta").at("deliveryId"));
  EXPECT_EQ(got[1].signature, hmac_hex("amt", got[1].body));
  EXPECT_NE(r.out.find("replay=2 status=200 "), std::string::npos) << r.out;
}

TEST(MockSmartcarSend, LegacyPayloadGoesOutByteForByte) {
  Receiver rx({status(200)});
  const auto dir = scratch_dir();
  const auto file = kExamples / "webhook_legacy_2.0.json";
  auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", file.string()}, dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  ASSERT_EQ(rx.got().size(), 1u);
  EXPECT_EQ(rx.got()[0].body, slurp(file));
}

TEST(MockSmartcarSend, GeneratedPayloadsHaveTheDocumentedShapes) {
  Receiver rx({status(200)});
  const auto dir = scratch_dir();
  for (const std::string shape : {"real", "docs"})
    ASSERT_EQ(run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--generate",
                        "vehicle_state", "--trigger-shape", shape, "--vehicle", kVw},
                       dir)
                  .rc,
              0);
  ASSERT_EQ(run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--generate",
                      "vehicle_error", "--vehicle", kVw},
                     dir)
                .rc,
            0);
  auto got = rx.got();
  ASSERT_EQ(got.size(), 3u);
  auto real = parse(got[0].body), docs = parse(got[1].body), error = parse(got[2].body);
  EXPECT_EQ(real.at("eventType"), "VEHICLE_STATE");
  EXPECT_FALSE(real.as_object().contains("vehicleId"));
  EXPECT_EQ(real.at("triggers").at(0).at("type"), "SIGNAL_UPDATED");
  EXPECT_EQ(real.at("data").at("vehicle").at("id"), json::value(kVw));
  EXPECT_EQ(real.at("meta").at("version"), "4.0");
  EXPECT_EQ(real.at("meta").at("signalCount"), real.at("data").at("signals").as_array().size());
  EXPECT_EQ(docs.at("vehicleId"), json::value(kVw));
  EXPECT_FALSE(docs.as_object().contains("triggers"));
  EXPECT_TRUE(docs.at("data").at("triggers").at(0).as_object().contains("code"));
  EXPECT_EQ(error.at("eventType"), "VEHICLE_ERROR");
  EXPECT_EQ(error.at("data").at("errors").at(0).at("state"), "ERROR");
  EXPECT_TRUE(error.at("data").at("errors").at(0).at("signals").at(1).is_string());  // "Group.Name"
}

TEST(MockSmartcarSend, BadUsageNamesTheProblem) {
  const auto dir = scratch_dir();
  auto r = run_mock({"smartcar-send", "--amt", "amt", "x.json"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--url"), std::string::npos) << r.err;
  std::ofstream(dir / "broken.json") << "{\"eventId\":";
  r = run_mock({"smartcar-send", "--url", "http://127.0.0.1:1/", "--amt", "amt",
                (dir / "broken.json").string()},
               dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("amt"), std::string::npos) << "the AMT must not be echoed: " << r.err;
}

TEST(MockSmartcarSend, LoadModeSendsDistinctEventsAndReportsPercentiles) {
  Receiver rx({status(200)}, 2);
  const auto dir = scratch_dir();
  auto r =
      run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--count", "400", "--rate",
                "2000", "--concurrency", "16", "--generate", "vehicle_state", "--vehicle", kVw},
               dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 400u);
  std::set<std::string> events;
  for (const auto& g : got) {
    ASSERT_EQ(g.signature, hmac_hex("amt", g.body));
    events.insert(std::string(parse(g.body).at("eventId").as_string()));
  }
  EXPECT_EQ(events.size(), 400u);
  EXPECT_EQ(r.out.rfind("sent=400 ok=400 failed=0 statuses=200:400 seconds=", 0), 0u) << r.out;
  for (const char* key : {" rate=", " p50_ms=", " p90_ms=", " p99_ms=", " max_ms="})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
  // 400 at 2000/s is 0.2 s of schedule; it must not take much longer.
  EXPECT_LT(r.seconds, 5.0);
}

TEST(MockSmartcarSend, LoadModeSpreadsDeliveriesOverTheVehicleIds) {
  Receiver rx({status(200)}, 2);
  const auto dir = scratch_dir();
  std::ofstream(dir / "ids.txt") << "veh-a\nveh-b\r\n\nveh-c\n";
  auto r = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--count", "9", "--rate",
                     "1000", "--concurrency", "1", "--vehicle-ids", (dir / "ids.txt").string(),
                     "--generate", "vehicle_state", "--trigger-shape", "docs"},
                    dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  auto got = rx.got();
  ASSERT_EQ(got.size(), 9u);
  std::map<std::string, int> per_vehicle;
  for (const auto& g : got) {
    ASSERT_EQ(g.signature, hmac_hex("amt", g.body));
    auto doc = parse(g.body);
    const std::string id(doc.at("data").at("vehicle").at("id").as_string());
    EXPECT_EQ(std::string(doc.at("vehicleId").as_string()), id) << "docs shape names it twice";
    ++per_vehicle[id];
  }
  EXPECT_EQ(per_vehicle, (std::map<std::string, int>{{"veh-a", 3}, {"veh-b", 3}, {"veh-c", 3}}));

  // A payload that names no vehicle, or a single delivery, cannot take the option.
  auto verify = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--count", "2",
                          "--vehicle-ids", (dir / "ids.txt").string(), "--generate", "verify"},
                         dir);
  EXPECT_EQ(verify.rc, 2);
  EXPECT_NE(verify.err.find("--vehicle-ids"), std::string::npos) << verify.err;
  auto single = run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--vehicle-ids",
                          (dir / "ids.txt").string(), "--generate", "vehicle_state"},
                         dir);
  EXPECT_EQ(single.rc, 2);
  std::ofstream(dir / "empty.txt") << "\n";
  auto empty =
      run_mock({"smartcar-send", "--url", rx.url(), "--amt", "amt", "--count", "2", "--vehicle-ids",
                (dir / "empty.txt").string(), "--generate", "vehicle_state"},
               dir);
  EXPECT_EQ(empty.rc, 2);
  EXPECT_NE(empty.err.find("empty.txt"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace oemlink::testing

namespace oemlink::testing {
namespace {

TEST(MockSmartcarSink, VerifiesSignaturesOfTheSendersDeliveries) {
  MockSmartcar sink({"--webhook-amt", "amt"});
  const auto dir = scratch_dir();
  const std::string url = sink.url("/mock/webhook-sink");
  auto ok = run_mock({"smartcar-send", "--url", url, "--amt", "amt", "--count", "200", "--rate",
                      "1000", "--generate", "vehicle_state"},
                     dir);
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  auto forged = run_mock({"smartcar-send", "--url", url, "--amt", "amt", "--forge",
                          "--retry-delays-ms", "", "--generate", "verify"},
                         dir);
  EXPECT_EQ(forged.rc, 1);
  EXPECT_NE(forged.out.find("attempt=1 status=401 "), std::string::npos) << forged.out;
  auto stats = sink.stats();
  EXPECT_EQ(stats.at("webhook_sink").at("verified"), 200);
  EXPECT_EQ(stats.at("webhook_sink").at("refused"), 1);
}

}  // namespace
}  // namespace oemlink::testing
