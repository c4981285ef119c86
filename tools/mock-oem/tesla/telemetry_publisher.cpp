#include "tools/mock-oem/tesla/telemetry_publisher.hpp"

#include "tools/mock-oem/tesla/day_simulation.hpp"
#include "tools/mock-oem/tesla/json_text.hpp"

#include <mosquitto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>

#include <cmath>
#include <ctime>
#include <functional>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

struct FieldRule {
  double interval_s = 60;
  double minimum_delta = 0;
};

// Without a posted config: DIMO's intervals for the fields it names (oem-apis.md, DIMO), a
// minute for the rest, five for slow-moving ones.
const std::map<std::string, FieldRule>& default_fields() {
  static const std::map<std::string, FieldRule> kDefaults{{"Location", {1, 0}},
                                                          {"VehicleSpeed", {20, 0}},
                                                          {"Soc", {60, 0}},
                                                          {"Odometer", {300, 0}},
                                                          {"BatteryLevel", {60, 0}},
                                                          {"EstBatteryRange", {60, 0}},
                                                          {"EnergyRemaining", {60, 0}},
                                                          {"Gear", {1, 0}},
                                                          {"DetailedChargeState", {1, 0}},
                                                          {"ACChargingPower", {30, 0}},
                                                          {"ChargeAmps", {60, 0}},
                                                          {"ChargerVoltage", {60, 0}},
                                                          {"ChargeLimitSoc", {60, 0}},
                                                          {"OutsideTemp", {300, 0}},
                                                          {"TpmsPressureFl", {300, 0}},
                                                          {"TpmsPressureFr", {300, 0}},
                                                          {"TpmsPressureRl", {300, 0}},
                                                          {"TpmsPressureRr", {300, 0}},
                                                          {"DoorState", {60, 0}}};
  return kDefaults;
}

std::map<std::string, FieldRule> rules_from_config(const json::object& config) {
  std::map<std::string, FieldRule> out;
  const json::value* fields = config.if_contains("fields");
  if (!fields || !fields->is_object()) return out;
  for (const auto& [name, f] : fields->as_object()) {
    if (!f.is_object()) continue;
    FieldRule r;
    if (const auto* i = f.as_object().if_contains("interval_seconds"); i && i->is_number())
      r.interval_s = i->to_number<double>();
    if (const auto* d = f.as_object().if_contains("minimum_delta"); d && d->is_number())
      r.minimum_delta = d->to_number<double>();
    out[std::string(name)] = r;
  }
  return out;
}

double distance_m(const json::value& a, const json::value& b) {
  constexpr double kPi = 3.14159265358979323846, kEarthM = 6'371'000;
  auto get = [](const json::value& v, const char* k) {
    return v.as_object().at(k).to_number<double>() * kPi / 180;
  };
  const double la1 = get(a, "latitude"), la2 = get(b, "latitude");
  const double dla = la2 - la1, dlo = get(b, "longitude") - get(a, "longitude");
  const double h = std::sin(dla / 2) * std::sin(dla / 2) +
                   std::cos(la1) * std::cos(la2) * std::sin(dlo / 2) * std::sin(dlo / 2);
  return 2 * kEarthM * std::asin(std::sqrt(std::min(1.0, h)));
}

// Changed enough to be sent: numbers by more than minimum_delta, Location by more than
// minimum_delta metres, everything else when different.
bool changed(const json::value& last, const json::value& now, double minimum_delta) {
  if (last.is_number() && now.is_number())
    return std::abs(now.to_number<double>() - last.to_number<double>()) > minimum_delta ||
           (minimum_delta == 0 && now != last);
  if (last.is_object() && now.is_object() && last.as_object().contains("latitude") &&
      now.as_object().contains("latitude"))
    return minimum_delta > 0 ? distance_m(last, now) > minimum_delta : last != now;
  return last != now;
}

std::string rfc3339_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string connection_id() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace

struct TelemetryPublisher::CarStream {
  CarStream(std::string v, DaySimulation s) : vin(std::move(v)), sim(std::move(s)) {}
  std::string vin;
  DaySimulation sim;
  bool connected = false;
  std::string connection;
  struct Sent {
    json::value value;
    double at = 0;
  };
  std::map<std::string, Sent> sent;  // this connection's last value per field
};

TelemetryPublisher::TelemetryPublisher(const MqttOptions& options, Fleet& fleet, Billing& billing)
    : options_(options), fleet_(fleet), billing_(billing) {
  const double now = double(std::time(nullptr));
  sim_start_ = now;
  if (options_.start_minute_of_day)
    sim_start_ = std::floor(now / 86400) * 86400 + *options_.start_minute_of_day * 60.0;
  for (const auto& car : fleet_.cars()) {
    // Spread the fleet's schedules over an hour either side.
    const double offset = double(std::hash<std::string>{}(car.vin) % 7200) - 3600;
    cars_.push_back(std::make_unique<CarStream>(car.vin, DaySimulation(car, sim_start_, offset)));
  }
  mosquitto_lib_init();
  mosq_ = mosquitto_new(options_.client_id.c_str(), true, this);
  if (!mosq_) throw std::runtime_error("--mqtt: cannot create a libmosquitto client");
  if (!options_.username.empty())
    mosquitto_username_pw_set(mosq_, options_.username.c_str(),
                              options_.password.empty() ? nullptr : options_.password.c_str());
  mosquitto_connect_callback_set(mosq_, &TelemetryPublisher::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &TelemetryPublisher::on_disconnect);
  mosquitto_reconnect_delay_set(mosq_, 1, 10, false);  // fleet-telemetry retries every 10 s
}

TelemetryPublisher::~TelemetryPublisher() {
  stop();
  if (mosq_) mosquitto_destroy(mosq_);
  mosquitto_lib_cleanup();
}

void TelemetryPublisher::on_connect(mosquitto*, void* self, int rc) {
  auto* p = static_cast<TelemetryPublisher*>(self);
  std::lock_guard lock(p->mu_);
  p->connected_ = rc == 0;
  if (rc != 0) spdlog::warn("mock tesla: MQTT broker refused the connection ({})", rc);
  p->cv_.notify_all();
}

void TelemetryPublisher::on_disconnect(mosquitto*, void* self, int) {
  auto* p = static_cast<TelemetryPublisher*>(self);
  std::lock_guard lock(p->mu_);
  p->connected_ = false;
}

void TelemetryPublisher::start() {
  const int rc = mosquitto_connect_async(mosq_, options_.host.c_str(), options_.port, 30);
  if (rc != MOSQ_ERR_SUCCESS)
    spdlog::warn("mock tesla: MQTT connect to {}:{} failed ({}); retrying", options_.host,
                 options_.port, mosquitto_strerror(rc));
  mosquitto_loop_start(mosq_);
  real_start_ = std::chrono::steady_clock::now();
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void TelemetryPublisher::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
  for (auto& car : cars_)
    if (car->connected) connectivity(*car, false);
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
}

void TelemetryPublisher::publish(const std::string& topic, const std::string& payload) {
  mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                    options_.qos, options_.retain);
}

void TelemetryPublisher::connectivity(CarStream& car, bool connected) {
  if (connected) car.connection = connection_id();
  car.connected = connected;
  car.sent.clear();
  publish(options_.topic_base + "/" + car.vin + "/connectivity",
          to_json_text(json::object{{"ConnectionId", car.connection},
                                    {"Status", connected ? "CONNECTED" : "DISCONNECTED"},
                                    {"CreatedAt", rfc3339_now()}}));
}

void TelemetryPublisher::run() {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(10), [this] { return connected_ || stopping_; });
  auto next = std::chrono::steady_clock::now();
  while (!stopping_) {
    const bool connected = connected_;
    lock.unlock();
    const double real_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start_).count();
    const double sim_now = sim_start_ + real_s * options_.time_scale;
    if (connected) tick(sim_now);
    billing_.set_simulated_seconds(sim_now - sim_start_);
    next += options_.interval;
    lock.lock();
    cv_.wait_until(lock, next, [this] { return stopping_; });
  }
}

void TelemetryPublisher::tick(double sim_now) {
  for (auto& car : cars_) {
    const auto config = fleet_.active_telemetry_config(car->vin);
    if (options_.only_configured && !config) {
      if (car->connected) connectivity(*car, false);
      car->sim.advance_to(sim_now);
      fleet_.set_simulated_awake(car->vin, car->sim.awake());  // it sleeps, streaming or not
      continue;
    }
    const auto rules = config ? rules_from_config(*config) : default_fields();
    double step = 3600;
    for (const auto& [name, rule] : rules) step = std::min(step, std::max(1.0, rule.interval_s));
    uint64_t sent = 0;
    // Walk the simulated time since the last tick in steps no longer than the shortest
    // interval, sending at each step what the car would send then.
    while (car->sim.now() < sim_now) {
      car->sim.advance_to(std::min(sim_now, car->sim.now() + step));
      const bool awake = car->sim.awake();
      if (awake != car->connected) connectivity(*car, awake);
      if (!car->connected) continue;
      const double t = car->sim.now();
      for (auto& [name, value] : car->sim.fields()) {
        const auto rule = rules.find(name);
        if (rule == rules.end()) continue;
        auto last = car->sent.find(name);
        if (last != car->sent.end() &&
            (t - last->second.at < rule->second.interval_s ||
             !changed(last->second.value, value, rule->second.minimum_delta)))
          continue;
        publish(options_.topic_base + "/" + car->vin + "/v/" + name, to_json_text(value));
        car->sent[name] = CarStream::Sent{std::move(value), t};
        ++sent;
      }
    }
    fleet_.set_simulated_awake(car->vin, car->connected);
    if (sent) billing_.record_signals(car->vin, sent);
  }
}

}  // namespace oemlink::mock_oem::tesla
