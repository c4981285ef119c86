#include "car_sim.hpp"

#include "prng.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace oemlink::mock {
namespace {

constexpr double kKmPerDegreeLatitude = 111.32;
constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr double kMsPerHour = 3.6e6;
// Driving is integrated on a fixed grid of this step, aligned to absolute time, so a car's
// path does not depend on how finely it is polled within a step.
constexpr int64_t kDriveStepMs = 10'000;
// A car nobody polled for longer than this is assumed parked for the excess: it bounds the
// catch-up work to about 2 days of simulation.
constexpr int64_t kMaxReplayMs = 48 * kHourMs;
constexpr double kMaxSpeedKmh = 130;
constexpr double kRoamRadiusKm = 25;
constexpr double kAuxPowerKw = 1.0;  // climate and electronics while driving

// Per-car constants, recomputed from the seed when needed instead of stored per connection.
struct CarTraits {
  double battery_kwh;
  double full_range_km;
  double charge_limit_percent;
  double ac_charge_kw;
  double tyre_base_kpa[4];
  double temperature_offset_c;
};

CarTraits traits_of(uint64_t car_seed) {
  auto d = [&](uint64_t sub) { return draw(car_seed, Salt::kTraits, 0, sub); };
  CarTraits c{};
  c.battery_kwh = uniform(d(0), 55, 100);
  c.full_range_km = c.battery_kwh * uniform(d(1), 5.2, 6.6);
  double limit = unit(d(2));
  c.charge_limit_percent = limit < 0.5 ? 80 : limit < 0.85 ? 90 : 100;
  c.ac_charge_kw = unit(d(3)) < 0.5 ? 7.4 : 11.0;
  double base = uniform(d(4), 234, 246);
  for (int i = 0; i < 4; ++i) c.tyre_base_kpa[i] = base + uniform(d(5 + i), -3, 3);
  c.temperature_offset_c = uniform(d(9), -2, 2);
  return c;
}

double consumption_kwh_per_km(const CarTraits& c) {
  return c.battery_kwh / c.full_range_km;
}

uint64_t phase_draw(const CarState& car, uint64_t car_seed, uint64_t sub) {
  return draw(car_seed, Salt::kPhase, car.phase_index, sub);
}

double cruise_speed_kmh(const CarState& car, uint64_t car_seed) {
  double kind = unit(phase_draw(car, car_seed, 10));
  uint64_t pick = phase_draw(car, car_seed, 11);
  if (kind < 0.45) return uniform(pick, 25, 50);  // city
  if (kind < 0.8) return uniform(pick, 50, 90);   // suburban
  return uniform(pick, 95, kMaxSpeedKmh);         // motorway
}

double charge_power_kw(const CarState& car, uint64_t car_seed, const CarTraits& c) {
  return car.phase == Phase::kChargingDc ? uniform(phase_draw(car, car_seed, 12), 50, 150)
                                         : c.ac_charge_kw;
}

int64_t phase_duration_ms(const CarState& car, uint64_t car_seed) {
  uint64_t u = phase_draw(car, car_seed, 1);
  switch (car.phase) {
    case Phase::kDriving:
      return static_cast<int64_t>(uniform(u, 5, 50) * kMinuteMs);
    case Phase::kParked:
      return static_cast<int64_t>(uniform(u, 15, 240) * kMinuteMs);
    case Phase::kChargingAc:
      return static_cast<int64_t>(uniform(u, 60, 480) * kMinuteMs);
    case Phase::kChargingDc:
      return static_cast<int64_t>(uniform(u, 20, 45) * kMinuteMs);
  }
  return kHourMs;
}

void enter_phase(CarState& car, Phase phase) {
  bool charging_phase = phase == Phase::kChargingAc || phase == Phase::kChargingDc;
  if (charging_phase) car.added_energy_kwh = 0;  // a new session, as cars report it
  car.phase = phase;
  car.cable_connected = charging_phase;
  car.charging = false;
  car.speed_kmh = 0;
  car.battery_power_w = 0;
}

// Rest and driving alternate; where a car rests depends on its charge.
Phase next_phase(const CarState& car, uint64_t car_seed, const CarTraits& c) {
  double u = unit(phase_draw(car, car_seed, 0));
  if (car.phase != Phase::kDriving) {
    return car.soc_percent < 10 ? Phase::kChargingDc : Phase::kDriving;
  }
  if (car.soc_percent < 25) return u < 0.5 ? Phase::kChargingDc : Phase::kChargingAc;
  if (car.soc_percent < c.charge_limit_percent - 15 && u < 0.35) return Phase::kChargingAc;
  return Phase::kParked;
}

void start_next_phase(CarState& car, uint64_t car_seed, const CarTraits& c) {
  Phase phase = next_phase(car, car_seed, c);
  ++car.phase_index;
  enter_phase(car, phase);
  car.phase_end_ms = car.t_ms + phase_duration_ms(car, car_seed);
}

void steer(CarState& car, uint64_t step_key) {
  double heading = car.heading_deg + (unit(mix64(step_key, 1)) - 0.5) * 24;
  double north_km = (car.latitude - kCityLatitude) * kKmPerDegreeLatitude;
  double east_km =
      (car.longitude - kCityLongitude) * kKmPerDegreeLatitude * std::cos(car.latitude * kDegToRad);
  if (std::hypot(north_km, east_km) > kRoamRadiusKm) {
    // Head home: turn by at most 30 degrees a step towards the city centre.
    double home = std::atan2(-east_km, -north_km) / kDegToRad;
    double turn = std::remainder(home - heading, 360.0);
    heading += std::clamp(turn, -30.0, 30.0);
  }
  heading = std::fmod(heading, 360.0);
  car.heading_deg = static_cast<float>(heading < 0 ? heading + 360 : heading);
}

void drive(CarState& car, uint64_t car_seed, const CarTraits& c, int64_t dt_ms) {
  uint64_t step_key = draw(car_seed, Salt::kStep, static_cast<uint64_t>(car.t_ms / kDriveStepMs));
  double speed = cruise_speed_kmh(car, car_seed) *
                 (0.85 + 0.15 * std::sin(2 * std::numbers::pi * car.t_ms / 97'000.0));
  if (unit(mix64(step_key, 0)) < 0.06) speed = 0;  // a red light
  speed = std::clamp(speed, 0.0, kMaxSpeedKmh);
  steer(car, step_key);

  double dt_h = dt_ms / kMsPerHour;
  double distance_km = speed * dt_h;
  double heading = car.heading_deg * kDegToRad;
  car.latitude += distance_km * std::cos(heading) / kKmPerDegreeLatitude;
  car.longitude +=
      distance_km * std::sin(heading) / (kKmPerDegreeLatitude * std::cos(car.latitude * kDegToRad));
  car.odometer_km += distance_km;

  double power_kw = speed * consumption_kwh_per_km(c) + kAuxPowerKw;
  double soc = car.soc_percent - power_kw * dt_h / c.battery_kwh * 100;
  car.soc_percent = static_cast<float>(std::max(soc, 0.0));
  car.speed_kmh = static_cast<float>(speed);
  car.battery_power_w = static_cast<float>(-power_kw * 1000);  // out of the battery
  if (car.soc_percent < 5) car.phase_end_ms = std::min(car.phase_end_ms, car.t_ms + dt_ms);
}

void charge(CarState& car, uint64_t car_seed, const CarTraits& c, int64_t dt_ms) {
  double power_kw = charge_power_kw(car, car_seed, c);
  double room_kwh = (c.charge_limit_percent - car.soc_percent) / 100 * c.battery_kwh;
  double energy_kwh = std::min(power_kw * dt_ms / kMsPerHour, std::max(room_kwh, 0.0));
  car.soc_percent += static_cast<float>(energy_kwh / c.battery_kwh * 100);
  car.added_energy_kwh += static_cast<float>(energy_kwh);
  // Charging stops at the limit; the cable stays in until the driver leaves.
  car.charging = car.soc_percent < c.charge_limit_percent - 0.05;
  car.battery_power_w = car.charging ? static_cast<float>(power_kw * 1000) : 0.0f;
}

void start(CarState& car, uint64_t car_seed, int64_t now_ms) {
  auto d = [&](uint64_t sub) { return draw(car_seed, Salt::kStart, 0, sub); };
  double home_km = uniform(d(0), 0, 10);
  double home_bearing = uniform(d(1), 0, 2 * std::numbers::pi);
  car.t_ms = now_ms;
  car.latitude = kCityLatitude + home_km * std::cos(home_bearing) / kKmPerDegreeLatitude;
  car.longitude = kCityLongitude + home_km * std::sin(home_bearing) /
                                       (kKmPerDegreeLatitude * std::cos(kCityLatitude * kDegToRad));
  car.heading_deg = static_cast<float>(uniform(d(2), 0, 360));
  car.odometer_km = uniform(d(3), 3'000, 90'000);
  car.soc_percent = static_cast<float>(uniform(d(4), 35, 80));
  double kind = unit(d(5));
  enter_phase(car, kind < 0.55  ? Phase::kParked
                   : kind < 0.8 ? Phase::kDriving
                                : Phase::kChargingAc);
  if (car.cable_connected) car.added_energy_kwh = static_cast<float>(uniform(d(6), 0, 10));
  // Join the phase somewhere in its middle, as if the car had been going for a while.
  car.phase_end_ms =
      now_ms + static_cast<int64_t>(phase_duration_ms(car, car_seed) * uniform(d(7), 0.1, 1));
}

}  // namespace

std::optional<SignalId> signal_by_name(std::string_view name) {
  for (size_t i = 0; i < kSignalNames.size(); ++i) {
    if (kSignalNames[i] == name) return static_cast<SignalId>(i);
  }
  return std::nullopt;
}

void advance(CarState& car, uint64_t car_seed, int64_t now_ms) {
  const CarTraits c = traits_of(car_seed);
  if (car.t_ms == 0) {
    start(car, car_seed, now_ms);
    // A zero-length step sets the instantaneous values (speed, power) of the starting phase.
    if (car.phase == Phase::kDriving) drive(car, car_seed, c, 0);
    if (car.phase == Phase::kChargingAc) charge(car, car_seed, c, 0);
    return;
  }
  if (now_ms - car.t_ms > kMaxReplayMs) {
    enter_phase(car, Phase::kParked);
    car.t_ms = now_ms - kMaxReplayMs;
    car.phase_end_ms = car.t_ms;
  }
  while (car.t_ms < now_ms) {
    if (car.t_ms >= car.phase_end_ms) start_next_phase(car, car_seed, c);
    int64_t until = std::min(now_ms, car.phase_end_ms);
    int64_t dt = until - car.t_ms;
    switch (car.phase) {
      case Phase::kDriving:
        dt = std::min(dt, kDriveStepMs - car.t_ms % kDriveStepMs);
        drive(car, car_seed, c, dt);
        break;
      case Phase::kChargingAc:
      case Phase::kChargingDc:
        charge(car, car_seed, c, dt);
        break;
      case Phase::kParked:
        break;
    }
    car.t_ms += dt;
  }
}

size_t fill_readings(const CarState& car, uint64_t car_seed, uint32_t signal_mask,
                     oemlink_reading (&out)[kSignalCount]) {
  const CarTraits c = traits_of(car_seed);
  const int64_t ts = car.t_ms;

  // Seasonal and daily cycles in local time (UTC+1), coldest mid-January and at dawn.
  constexpr double kDayMs = 24.0 * kHourMs;
  double day_of_year = std::fmod(ts / kDayMs, 365.2425);
  double local_hour = std::fmod(ts / static_cast<double>(kHourMs) + 1, 24.0);
  double temperature = 10 - 10 * std::cos(2 * std::numbers::pi * (day_of_year - 15) / 365.2425) +
                       5 * std::sin(2 * std::numbers::pi * (local_hour - 9) / 24) +
                       c.temperature_offset_c;
  // Tyres follow the air temperature and warm up while driving.
  double tyre_delta = (temperature - 20) * 0.35 + (car.phase == Phase::kDriving ? 6 : 0);

  size_t n = 0;
  // Values are rounded to what a car would report (`per_unit` steps per unit): the host
  // serialises them with the shortest round-trip form, so 71.3 stays "71.3" instead of a
  // float's 71.30001831054688.
  auto add = [&](SignalId id, double value, double per_unit) -> oemlink_reading* {
    if (!(signal_mask & (1u << id))) return nullptr;
    oemlink_reading& r = out[n++];
    r = oemlink_reading{};
    r.struct_size = sizeof r;
    r.name = {kSignalNames[id].data(), kSignalNames[id].size()};
    r.timestamp_ms = ts;
    r.kind = OEMLINK_VALUE_NUMBER;
    const double rounded = std::round(value * per_unit) / per_unit;
    r.number = rounded == 0 ? 0.0 : rounded;  // never -0
    r.hdop = NAN;
    return &r;
  };
  const double soc = std::round(car.soc_percent * 10.0) / 10.0;
  add(kSpeed, car.speed_kmh, 10);
  add(kTravelledDistance, car.odometer_km, 1000);
  if (oemlink_reading* r = add(kLocation, 0, 1)) {
    r->kind = OEMLINK_VALUE_LOCATION;
    r->latitude = std::round(car.latitude * 1e6) / 1e6;  // ~0.1 m
    r->longitude = std::round(car.longitude * 1e6) / 1e6;
  }
  add(kHeading, std::fmod(std::round(car.heading_deg * 10.0) / 10.0, 360.0), 10);
  add(kStateOfCharge, soc, 10);
  add(kRange, soc / 100.0 * c.full_range_km, 10);
  add(kChargeLimit, c.charge_limit_percent, 1);
  add(kIsCharging, car.charging ? 1 : 0, 1);
  add(kCableConnected, car.cable_connected ? 1 : 0, 1);
  add(kAddedEnergy, car.added_energy_kwh, 100);
  add(kBatteryPower, car.battery_power_w, 1);
  add(kExteriorTemperature, temperature, 10);
  for (int i = 0; i < 4; ++i) {
    add(static_cast<SignalId>(kTyreFrontLeft + i),
        std::clamp(c.tyre_base_kpa[i] + tyre_delta, 220.0, 260.0), 10);
  }
  return n;
}

}  // namespace oemlink::mock
