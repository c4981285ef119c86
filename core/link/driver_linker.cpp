#include "core/link/driver_linker.hpp"

#include "core/common/abi_text.hpp"
#include "core/host/driver_call_frame.hpp"

#include "core/host/driver_set.hpp"

#include <cstddef>
#include <memory>

namespace oemlink::link {
namespace {

std::string text(oemlink_str s) {
  return s.data ? std::string(s.data, s.size) : std::string();
}

// A URL longer than this is a driver bug, not a consent page.
constexpr size_t kMaxUrl = 64 * 1024;

// The URL goes out verbatim as the Location header (Beast does not check field values): a CR or
// LF in it would split the answer, so only an absolute http(s) URL of visible ASCII passes.
bool is_location(std::string_view url) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) return false;
  for (char c : url)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

void OEMLINK_CALL exchanged(void* ctx, oemlink_status status, const oemlink_str* keys,
                            const oemlink_str* values, size_t count, oemlink_str message) {
  std::unique_ptr<std::function<void(ExchangeOutcome)>> done(
      static_cast<std::function<void(ExchangeOutcome)>*>(ctx));
  ExchangeOutcome out;
  out.status = status;
  if (status == OEMLINK_OK) {
    for (size_t i = 0; i < count; ++i) out.secrets.add(text(keys[i]), text(values[i]));
  } else {
    out.message = text(message);
  }
  (*done)(std::move(out));
}

void OEMLINK_CALL listed(void* ctx, oemlink_status status, const oemlink_link_vehicle* vehicles,
                         size_t count, oemlink_str message) {
  std::unique_ptr<std::function<void(VehiclesOutcome)>> done(
      static_cast<std::function<void(VehiclesOutcome)>*>(ctx));
  VehiclesOutcome out;
  out.status = status;
  out.message = text(message);
  if (status == OEMLINK_OK) {
    out.vehicles.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const oemlink_link_vehicle& v = vehicles[i];
      LinkedVehicle x;
      x.vehicle_id = text(v.vehicle_id);
      x.vin = text(v.vin);
      if (OEMLINK_HAS_FIELD(&v, oemlink_link_vehicle, display_name))
        x.display_name = text(v.display_name);
      if (OEMLINK_HAS_FIELD(&v, oemlink_link_vehicle, identifiers_json))
        x.identifiers_json = text(v.identifiers_json);
      if (OEMLINK_HAS_FIELD(&v, oemlink_link_vehicle, year)) {
        x.make = text(v.make);
        x.model = text(v.model);
        x.year = v.year;
      }
      out.vehicles.push_back(std::move(x));
    }
  }
  (*done)(std::move(out));
}

}  // namespace

const oemlink_link_extension* DriverLinker::extension_of(const host::DriverInstance& d) {
  if (!d.d || !d.inst) return nullptr;
  if (!OEMLINK_HAS_FIELD(d.d, oemlink_driver, get_extension) || !d.d->get_extension) return nullptr;
  auto* ext = static_cast<const oemlink_link_extension*>(
      d.d->get_extension(d.inst, OEMLINK_EXTENSION_LINK));
  if (!ext || !OEMLINK_HAS_FIELD(ext, oemlink_link_extension, list_vehicles)) return nullptr;
  if (!ext->authorize_url || !ext->exchange_code || !ext->list_vehicles) return nullptr;
  return ext;
}

DriverLinker::Url DriverLinker::authorize_url(std::string_view state, std::string_view redirect_uri,
                                              std::string_view code_challenge,
                                              std::string_view vehicle_id) const {
  oemlink_link_authorize a{};
  a.struct_size = sizeof a;
  a.state = abi_str(state);
  a.redirect_uri = abi_str(redirect_uri);
  a.code_challenge = abi_str(code_challenge);
  a.vehicle_id = abi_str(vehicle_id);
  std::string buf(1024, '\0');
  size_t size = 0;
  host::DriverCallFrame in_call(d_, "authorize_url");
  oemlink_status st = ext_.authorize_url(d_.inst, &a, buf.data(), buf.size(), &size);
  if (size > buf.size() && size <= kMaxUrl) {  // too small for the URL or for the reason
    buf.assign(size, '\0');
    st = ext_.authorize_url(d_.inst, &a, buf.data(), buf.size(), &size);
  }
  Url out;
  if (size > buf.size()) {
    out.text = "the driver's authorize URL is longer than " + std::to_string(kMaxUrl) + " bytes";
    return out;
  }
  buf.resize(size);
  out.ok = st == OEMLINK_OK && !buf.empty();
  out.text = std::move(buf);
  if (!out.ok && st == OEMLINK_OK) out.text = "the driver wrote an empty authorize URL";
  if (out.ok && !is_location(out.text)) {
    out.ok = false;
    out.text = "the driver's authorize URL is not an absolute http(s) URL of printable ASCII";
  }
  if (!out.ok && out.text.empty()) out.text = "the driver gave no reason";
  return out;
}

bool DriverLinker::exchange_code(std::string_view code, std::string_view query,
                                 std::string_view redirect_uri, std::string_view code_verifier,
                                 std::function<void(ExchangeOutcome)> done) {
  oemlink_link_callback c{};
  c.struct_size = sizeof c;
  c.code = abi_str(code);
  c.query = abi_str(query);
  c.redirect_uri = abi_str(redirect_uri);
  c.code_verifier = abi_str(code_verifier);
  auto* ctx = new std::function<void(ExchangeOutcome)>(std::move(done));
  if (host::call_driver(d_, "exchange_code", {}, [&] {
        return ext_.exchange_code(d_.inst, &c, &exchanged, ctx);
      }) != OEMLINK_OK) {
    delete ctx;
    return false;
  }
  return true;
}

bool DriverLinker::list_vehicles(const host::SecretPairs& secrets,
                                 std::function<void(VehiclesOutcome)> done) {
  std::vector<oemlink_str> keys, values;
  keys.reserve(secrets.size());
  values.reserve(secrets.size());
  for (const auto& [k, v] : secrets.items()) {
    keys.push_back(abi_str(k));
    values.push_back(abi_str(v));
  }
  auto* ctx = new std::function<void(VehiclesOutcome)>(std::move(done));
  if (host::call_driver(d_, "list_vehicles", {}, [&] {
        return ext_.list_vehicles(d_.inst, keys.data(), values.data(), keys.size(), &listed, ctx);
      }) != OEMLINK_OK) {
    delete ctx;
    return false;
  }
  return true;
}

}  // namespace oemlink::link
