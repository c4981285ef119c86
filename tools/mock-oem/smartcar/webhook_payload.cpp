#include "tools/mock-oem/smartcar/webhook_payload.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <stdexcept>

namespace oemlink::mock_oem::smartcar {

namespace json = boost::json;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object signal(std::string_view code, std::string_view name, std::string_view group,
                    json::object body, int64_t updated_ms, int64_t retrieved_ms) {
  return json::object{
      {"code", code},
      {"name", name},
      {"group", group},
      {"body", std::move(body)},
      {"meta", json::object{{"oemUpdatedAt", updated_ms}, {"retrievedAt", retrieved_ms}}},
      {"status", json::object{{"value", "SUCCESS"}}}};
}

json::object meta(int64_t delivered, std::optional<int> signal_count) {
  json::object m{{"deliveryId", random_uuid()},
                 {"deliveredAt", delivered},
                 {"version", "4.0"},
                 {"webhookId", "cfa94613-bc6c-49ca-8df5-01509119f9ad"},
                 {"webhookName", "oemlink"},
                 {"mode", "LIVE"}};
  if (signal_count) m["signalCount"] = *signal_count;
  return m;
}

json::object vehicle(std::string_view id) {
  return json::object{{"id", id},     {"make", "VOLKSWAGEN"}, {"model", "ID.7"},
                      {"year", 2025}, {"mode", "live"},       {"powertrainType", nullptr}};
}

}  // namespace

std::optional<PayloadKind> parse_payload_kind(std::string_view name) {
  if (name == "vehicle_state") return PayloadKind::vehicle_state;
  if (name == "verify") return PayloadKind::verify;
  if (name == "vehicle_error") return PayloadKind::vehicle_error;
  return std::nullopt;
}

std::string generate_payload(PayloadKind kind, std::string_view vehicle_id, TriggerShape shape) {
  const int64_t now = now_ms();
  const json::object user{{"id", "00000000-0000-4000-8000-000000000099"}};
  json::object event{{"eventId", random_uuid()}};
  switch (kind) {
    case PayloadKind::verify:
      event["eventType"] = "VERIFY";
      event["data"] = json::object{{"challenge", random_uuid()}};
      event["meta"] = meta(now, std::nullopt);
      break;
    case PayloadKind::vehicle_error: {
      event["eventType"] = "VEHICLE_ERROR";
      event["vehicleId"] = vehicle_id;
      json::array errors;
      errors.push_back(json::object{
          {"type", "CONNECTED_SERVICES_ACCOUNT"},
          {"code", "SUBSCRIPTION"},
          {"state", "ERROR"},
          {"description",
           "The vehicle owner's connected services subscription is inactive or has expired."},
          {"resolution", json::object{{"type", "ACTION_REQUIRED"}}},
          {"signals", json::array{json::object{{"code", "tractionbattery-stateofcharge"},
                                               {"name", "StateOfCharge"},
                                               {"group", "TractionBattery"}},
                                  "Odometer.TraveledDistance"}}});
      event["data"] = json::object{
          {"user", user}, {"vehicle", vehicle(vehicle_id)}, {"errors", std::move(errors)}};
      event["meta"] = meta(now, std::nullopt);
      break;
    }
    case PayloadKind::vehicle_state: {
      event["eventType"] = "VEHICLE_STATE";
      const int64_t updated = now - 61'000, retrieved = now - 2'000;
      json::array signals;
      signals.push_back(signal("odometer-traveleddistance", "TraveledDistance", "Odometer",
                               {{"value", 16342}, {"unit", "km"}}, updated, retrieved));
      signals.push_back(signal("tractionbattery-stateofcharge", "StateOfCharge", "TractionBattery",
                               {{"value", 80}, {"unit", "percent"}}, updated, retrieved));
      signals.push_back(signal("tractionbattery-range", "Range", "TractionBattery",
                               {{"value", 472},
                                {"type", "DEFAULT"},
                                {"additionalValues", json::array{}},
                                {"unit", "km"}},
                               updated, retrieved));
      signals.push_back(signal("charge-ischarging", "IsCharging", "Charge", {{"value", true}},
                               updated, retrieved));
      signals.push_back(signal("charge-ischargingcableconnected", "IsChargingCableConnected",
                               "Charge", {{"value", true}}, updated, retrieved));
      signals.push_back(signal("charge-wattage", "Wattage", "Charge",
                               {{"value", 11000}, {"unit", "watts"}}, updated, retrieved));
      signals.push_back(signal("charge-energyadded", "EnergyAdded", "Charge",
                               {{"value", 9.6}, {"unit", "kWh"}}, updated, retrieved));
      signals.push_back(
          signal("location-preciselocation", "PreciseLocation", "Location",
                 {{"latitude", 52.520008}, {"longitude", 13.404954}, {"heading", 274}}, updated,
                 retrieved));
      signals.push_back(signal(
          "wheel-tires", "Tires", "Wheel",
          {{"values", json::array{json::object{{"row", 0}, {"column", 0}, {"tirePressure", 258}},
                                  json::object{{"row", 0}, {"column", 1}, {"tirePressure", 259}},
                                  json::object{{"row", 1}, {"column", 0}, {"tirePressure", 251}},
                                  json::object{{"row", 1}, {"column", 1}, {"tirePressure", 252}}}},
           {"rowCount", 2},
           {"columnCount", 2},
           {"unit", "bar"}},
          updated, retrieved));
      signals.push_back(json::object{
          {"code", "charge-timetocomplete"},
          {"name", "TimeToComplete"},
          {"group", "Charge"},
          {"status", json::object{{"value", "ERROR"},
                                  {"error", json::object{{"type", "VEHICLE_STATE"},
                                                         {"code", "NOT_CHARGING"}}}}}});
      const int count = static_cast<int>(signals.size());
      json::object data{
          {"user", user}, {"vehicle", vehicle(vehicle_id)}, {"signals", std::move(signals)}};
      if (shape == TriggerShape::real) {
        event["data"] = std::move(data);
        event["triggers"] = json::array{
            json::object{{"type", "SIGNAL_UPDATED"},
                         {"signal", json::object{{"name", "IsCharging"},
                                                 {"code", "charge-ischarging"},
                                                 {"group", "Charge"}}}},
            json::object{{"type", "SIGNAL_UPDATED"},
                         {"signal", json::object{{"name", "StateOfCharge"},
                                                 {"code", "tractionbattery-stateofcharge"},
                                                 {"group", "TractionBattery"}}}}};
      } else {
        event["vehicleId"] = vehicle_id;
        data["triggers"] = json::array{json::object{{"code", "tractionbattery-stateofcharge"},
                                                    {"name", "StateOfCharge"},
                                                    {"group", "TractionBattery"}}};
        event["data"] = std::move(data);
      }
      event["meta"] = meta(now, count);
      break;
    }
  }
  return json::serialize(event);
}

Delivery::Delivery(std::string raw, bool verbatim) : raw_(std::move(raw)), verbatim_(verbatim) {
  boost::system::error_code ec;
  parsed_ = json::parse(raw_, ec);
  if (ec) {
    if (!verbatim_)
      throw std::invalid_argument("the payload is not JSON (" + ec.message() +
                                  "); use --verbatim to send it as is");
    parsed_ = nullptr;
    return;
  }
  if (verbatim_) return;
  if (auto* o = parsed_.if_object())
    restamped_ = o->contains("eventId") && o->contains("meta") && (*o)["meta"].is_object();
}

std::string Delivery::event_id() const {
  if (auto* o = parsed_.if_object())
    if (auto* id = o->if_contains("eventId"); id && id->is_string())
      return std::string(id->get_string());
  return {};
}

void Delivery::set_event_id(std::string id) {
  if (restamped_) parsed_.get_object()["eventId"] = std::move(id);
}

bool Delivery::names_vehicle() const {
  if (!restamped_) return false;
  const json::object& o = parsed_.get_object();
  if (auto* data = o.if_contains("data"); data && data->is_object())
    if (auto* v = data->get_object().if_contains("vehicle"); v && v->is_object()) return true;
  return o.contains("vehicleId");
}

void Delivery::set_vehicle_id(const std::string& id) {
  if (!restamped_) return;
  json::object& o = parsed_.get_object();
  if (auto* data = o.if_contains("data"); data && data->is_object())
    if (auto* v = data->get_object().if_contains("vehicle"); v && v->is_object())
      v->get_object()["id"] = id;
  if (auto* top = o.if_contains("vehicleId")) *top = id;
}

std::string Delivery::body_for_attempt(std::string& delivery_id) {
  delivery_id.clear();
  if (!restamped_) return raw_;
  json::object& meta = parsed_.get_object()["meta"].get_object();
  delivery_id = random_uuid();
  meta["deliveryId"] = delivery_id;
  meta["deliveredAt"] = now_ms();
  return json::serialize(parsed_);
}

std::optional<std::string> Delivery::challenge() const {
  const json::object* o = parsed_.if_object();
  if (!o) return std::nullopt;
  auto from = [&](std::string_view container) -> std::optional<std::string> {
    auto* c = o->if_contains(container);
    if (!c || !c->is_object()) return std::nullopt;
    auto* ch = c->get_object().if_contains("challenge");
    if (!ch || !ch->is_string()) return std::nullopt;
    return std::string(ch->get_string());
  };
  auto* type = o->if_contains("eventType");
  if (type && type->is_string() && type->get_string() == "VERIFY") return from("data");
  auto* name = o->if_contains("eventName");
  if (name && name->is_string() && name->get_string() == "verify") return from("payload");
  return std::nullopt;
}

}  // namespace oemlink::mock_oem::smartcar
