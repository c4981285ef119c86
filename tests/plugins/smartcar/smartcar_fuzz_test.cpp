// Property test: thousands of random mutations (byte flips, truncation, inserted bytes, deleted
// fields, swapped value types) of real-shaped webhook bodies, signals pages and error bodies.
// Whatever arrives: no crash, no exception out of the driver, one answer per delivery, every
// rejection counted, and whatever is emitted is a finite value under a catalogue name.
#include "error_classifier.hpp"
#include "signal_mapper.hpp"
#include "signals_client.hpp"
#include "smartcar_fixture.hpp"

#include <oemlink/signals.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace oemlink::smartcar::test {
namespace {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng_) : 0; }

  std::string mutate(std::string s) {
    const int rounds = 1 + static_cast<int>(below(3));
    for (int i = 0; i < rounds; ++i) {
      switch (below(6)) {
        case 0:  // flip bits of one byte
          if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1 + below(255));
          break;
        case 1:  // truncate
          s.resize(below(s.size() + 1));
          break;
        case 2:  // insert random bytes
          s.insert(below(s.size() + 1), random_bytes(1 + below(8)));
          break;
        case 3:
        case 4:
          s = mutate_json(s, below(2) == 0);
          break;
        case 5:  // duplicate a slice
          if (!s.empty()) {
            size_t a = below(s.size()), n = below(s.size() - a + 1);
            s.insert(below(s.size() + 1), s.substr(a, n));
          }
          break;
      }
    }
    return s;
  }

 private:
  std::string random_bytes(size_t n) {
    static constexpr std::string_view kInteresting = "{}[]\":,-0123456789.eE\\ntrufalsn\x00\xff";
    std::string out;
    for (size_t i = 0; i < n; ++i)
      out.push_back(below(2) ? kInteresting[below(kInteresting.size())]
                             : static_cast<char>(below(256)));
    return out;
  }

  boost::json::value random_value() {
    switch (below(10)) {
      case 0:
        return nullptr;
      case 1:
        return below(2) == 0;
      case 2:
        return -static_cast<int64_t>(below(1000000));
      case 3:
        return 1e308 * 10;  // serializes as a huge number
      case 4:
        return "";
      case 5:
        return "2026-06-29T23:55:53.000Z";
      case 6:
        return boost::json::array{1, "x", nullptr};
      case 7:
        return boost::json::object{{"value", "NaN"}, {"unit", "bar"}};
      case 8:
        return static_cast<double>(below(100000)) / 7.0;
      default:
        return "VERIFY";
    }
  }

  // Deletes a random member or swaps a random value for one of another type.
  std::string mutate_json(const std::string& s, bool remove) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(s, ec);
    if (ec) return s;
    std::vector<boost::json::value*> nodes;
    collect(v, nodes);
    if (nodes.empty()) return s;
    boost::json::value* target = nodes[below(nodes.size())];
    if (remove && target->is_object() && !target->as_object().empty()) {
      auto& o = target->as_object();
      auto it = o.begin() + static_cast<std::ptrdiff_t>(below(o.size()));
      o.erase(it);
    } else if (remove && target->is_array() && !target->as_array().empty()) {
      auto& a = target->as_array();
      a.erase(a.begin() + static_cast<std::ptrdiff_t>(below(a.size())));
    } else {
      *target = random_value();
    }
    return boost::json::serialize(v);
  }

  static void collect(boost::json::value& v, std::vector<boost::json::value*>& out) {
    out.push_back(&v);
    if (v.is_object())
      for (auto& kv : v.as_object()) collect(kv.value(), out);
    else if (v.is_array())
      for (auto& e : v.as_array()) collect(e, out);
  }

  std::mt19937_64 rng_;
};

uint64_t rejections(OneCar& car) {
  uint64_t n = 0;
  for (const auto& [name, value] : car.host().counters) {
    if (name == "webhook_malformed" || name == "webhook_bad_signature" ||
        name == "webhook_unsigned" || name == "webhook_unknown_vehicle" ||
        name == "webhook_unknown_vehicle_deliveries" || name == "webhook_bad_challenge" ||
        name == "webhook_in_flight" || name == "webhook_backpressure" ||
        name == "webhook_internal_errors")
      n += value;
  }
  return n;
}

void expect_sane(const RecordedEmit& e) {
  for (const RecordedReading& r : e.readings) {
    ASSERT_TRUE(oemlink::signals::known(r.name)) << r.name;
    if (r.kind == OEMLINK_VALUE_LOCATION) {
      ASSERT_TRUE(std::isfinite(r.latitude) && std::fabs(r.latitude) <= 90) << r.latitude;
      ASSERT_TRUE(std::isfinite(r.longitude) && std::fabs(r.longitude) <= 180) << r.longitude;
    } else {
      ASSERT_TRUE(std::isfinite(r.number)) << r.name;
      ASSERT_FALSE(r.number == 0 && std::signbit(r.number)) << r.name << " is -0";
    }
    ASSERT_GT(r.timestamp_ms, 0) << r.name;
  }
}

std::vector<std::string> webhook_seeds() {
  return {
      vehicle_state_4("seed-1", kVehicle, webhook_signals_4()),
      R"({"eventId":"seed-2","eventType":"VEHICLE_STATE","vehicleId":")" + std::string(kVehicle) +
          R"(","data":{"vehicle":{"id":")" + std::string(kVehicle) +
          R"("},"triggers":[{"code":"FIRST_DELIVERY"}],"signals":[{"code":"wheel-tires","body":{"values":[{"row":0,"column":0,"tirePressure":258},{"row":1,"column":1,"tirePressure":2.4}],"unit":"bar"},"meta":{}},{"code":"location-preciselocation","body":{"latitude":48.1,"longitude":11.5,"heading":90},"meta":{"oemUpdatedAt":1780222611}}]}})",
      R"({"eventId":"seed-3","eventType":"VEHICLE_ERROR","data":{"vehicle":{"id":")" +
          std::string(kVehicle) +
          R"("},"errors":[{"type":"CONNECTED_SERVICES_ACCOUNT","code":"AUTHENTICATION_FAILED","state":"ERROR","resolution":{"type":"REAUTHENTICATE"},"signals":[]}]}})",
      R"({"eventId":"seed-4","eventType":"VERIFY","data":{"challenge":"abc123"},"meta":{"version":"4.0"}})",
      R"({"version":"2.0","webhookId":"w","eventName":"verify","payload":{"challenge":"challenge"}})",
      R"({"version":"2.0","webhookId":"w","eventName":"schedule","payload":{"vehicles":[{"vehicleId":")" +
          std::string(kVehicle) +
          R"(","requestId":"r1","data":[{"path":"/battery","code":200,"body":{"percentRemaining":0.5,"range":100},"headers":{"sc-data-age":"2026-06-29T23:55:53Z"}},{"path":"/tires/pressure","code":200,"body":{"frontLeft":250,"frontRight":251,"backLeft":240,"backRight":241}}]}]}})",
  };
}

TEST(SmartcarFuzz, MutatedWebhookBodiesNeverCrashAndEveryRejectionIsCounted) {
  OneCar car;
  car.host().record_emits = true;
  Mutator m(20261201);
  const auto seeds = webhook_seeds();
  int answered_2xx = 0, rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string body = m.mutate(seeds[m.below(seeds.size())]);
    // Make most bodies new events so dedupe does not swallow them.
    if (auto p = body.find("seed-"); p != std::string::npos && m.below(4) != 0)
      body.replace(p, 5, "ev" + std::to_string(i) + "-");
    const uint64_t before = rejections(car);
    const size_t emits_before = car.host().emits.size();
    const bool sign = m.below(8) != 0;
    WebhookAnswer a = sign ? deliver_signed(*car.driver, body)
                           : deliver(*car.driver, body, {{"SC-Signature", std::string(64, 'a')}});
    ASSERT_EQ(a.returned, OEMLINK_OK) << body;
    ASSERT_EQ(a.calls, 1) << body;
    ASSERT_NE(a.status, 500) << body;
    if (a.status >= 200 && a.status < 300) {
      ++answered_2xx;
    } else {
      ++rejected;
      ASSERT_GT(rejections(car), before) << a.status << " not counted for: " << body;
      if (a.status != 503) {
        ASSERT_EQ(car.host().emits.size(), emits_before) << body;
      }
    }
    if (!sign) {
      ASSERT_TRUE(a.status == 401 || a.status == 405) << a.status << " " << body;
    }
    for (size_t k = emits_before; k < car.host().emits.size(); ++k)
      expect_sane(car.host().emits[k]);
  }
  EXPECT_EQ(car.counter("webhook_internal_errors"), 0u);
  // The mutations must exercise both sides, or the test proves nothing.
  EXPECT_GT(answered_2xx, 200);
  EXPECT_GT(rejected, 200);
}

TEST(SmartcarFuzz, MutatedSignalsPagesNeverCrashThePoll) {
  Mutator m(42);
  const std::vector<std::string> seeds = {
      realistic_page(),
      v3_page({v3_signal("odometer-traveleddistance", R"({"value":100,"unit":"miles"})")},
              "/v3/vehicles/x/signals?page=2"),
  };
  // A bucket large enough that the budget never interferes, and a clock that stands still, so
  // the stored token stays valid.
  OneCar car(R"("request_budget_capacity":1000000)");
  car.host().answer_http_inline = false;
  int ok = 0, retried = 0;
  for (int i = 0; i < 2000; ++i) {
    car.host().script_http(HttpReply::with_status(200, m.mutate(seeds[m.below(seeds.size())])));
    const size_t emits_before = car.host().emits.size();
    const uint64_t malformed_before = car.counter("malformed_responses");
    Completion& c = car.poll();
    ASSERT_EQ(car.host().deliver_http(), 1);
    // A followed next link gets a short valid page.
    while (car.host().pending_http() > 0) {
      car.host().script_http(HttpReply::with_status(200, v3_page({})));
      car.host().deliver_http();
    }
    ASSERT_TRUE(c.done());
    ASSERT_EQ(c.calls, 1);
    ASSERT_TRUE(c.status == OEMLINK_OK || c.status == OEMLINK_RETRY) << c.message;
    if (c.status == OEMLINK_RETRY) {
      ++retried;
      ASSERT_GT(car.counter("malformed_responses"), malformed_before) << c.message;
    } else {
      ++ok;
    }
    for (size_t k = emits_before; k < car.host().emits.size(); ++k)
      expect_sane(car.host().emits[k]);
  }
  EXPECT_GT(ok, 100);
  EXPECT_GT(retried, 100);
}

TEST(SmartcarFuzz, MutatedErrorBodiesAlwaysClassify) {
  Mutator m(7);
  const std::vector<std::string> seeds = {
      R"({"type":"RATE_LIMIT","code":"VEHICLE","description":"d","resolution":{"type":"RETRY_LATER"}})",
      R"({"errors":[{"status":"409","code":"VEHICLE_STATE","title":"t","detail":"d"}]})",
      R"({"type":"CONNECTED_SERVICES_ACCOUNT","code":"X","resolution":{"type":"REAUTHENTICATE","url":"https://connect.smartcar.com/x"}})",
  };
  const int statuses[] = {400, 401, 403, 404, 409, 429, 430, 500, 501, 502, 503, 504};
  for (int i = 0; i < 3000; ++i) {
    const std::string body = m.mutate(seeds[m.below(seeds.size())]);
    SmartcarError e = classify_error(statuses[m.below(std::size(statuses))], body,
                                     m.below(2) ? "30" : m.mutate("120"), 1'000'000);
    ASSERT_FALSE(e.reason.empty());
    ASSERT_EQ(e.reason.find('\n'), std::string::npos);
    ASSERT_LT(e.reason.size(), 700u);
    ASSERT_GE(e.until_ms, 0);
  }
}

}  // namespace
}  // namespace oemlink::smartcar::test
