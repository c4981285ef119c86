// The oemlink.link/1 extension of a driver under test, called through the C table exactly as the
// host calls it; completions are recorded (with their call counts: more than one is a bug).
#ifndef OEMLINK_TESTS_PLUGINS_TESLA_LINK_ABI_HPP
#define OEMLINK_TESTS_PLUGINS_TESLA_LINK_ABI_HPP

#include <oemlink/driver.hpp>
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::tesla::test {

struct ExchangeOutcome {
  int calls = 0;
  oemlink_status status = -1;
  LinkSecrets secrets;
  std::string message;
  std::string secret(const std::string& key) const {
    for (const auto& [k, v] : secrets)
      if (k == key) return v;
    return "<none>";
  }
};

struct VehiclesOutcome {
  int calls = 0;
  oemlink_status status = -1;
  std::vector<LinkVehicle> vehicles;
  std::string message;
};

inline std::string view(oemlink_str s) {
  return s.size ? std::string(s.data, s.size) : std::string();
}

class LinkAbi {
 public:
  explicit LinkAbi(testkit::DriverUnderTest& d) : d_(d) {
    ext = static_cast<const oemlink_link_extension*>(
        d.descriptor()->get_extension(d.instance(), OEMLINK_EXTENSION_LINK));
  }

  // OK with the URL in *out, or the driver's status with its message in *out.
  oemlink_status authorize(const LinkAuthorize& a, std::string* out) {
    oemlink_link_authorize r{};
    r.struct_size = sizeof r;
    r.state = to_str(a.state);
    r.redirect_uri = to_str(a.redirect_uri);
    r.code_challenge = to_str(a.code_challenge);
    r.vehicle_id = to_str(a.vehicle_id);
    std::string buf(16, '\0');
    size_t size = 0;
    oemlink_status st = ext->authorize_url(d_.instance(), &r, buf.data(), buf.size(), &size);
    if (st == OEMLINK_RETRY || size > buf.size()) {  // too small: asked again with the size
      buf.resize(size);
      st = ext->authorize_url(d_.instance(), &r, buf.data(), buf.size(), &size);
    }
    *out = buf.substr(0, size);
    return st;
  }

  ExchangeOutcome& exchange(const LinkCallback& c) {
    oemlink_link_callback cb{};
    cb.struct_size = sizeof cb;
    cb.code = to_str(c.code);
    cb.query = to_str(c.query);
    cb.redirect_uri = to_str(c.redirect_uri);
    cb.code_verifier = to_str(c.code_verifier);
    ExchangeOutcome& out = exchanges_.emplace_back();
    EXPECT_EQ(ext->exchange_code(d_.instance(), &cb, &on_exchanged, &out), OEMLINK_OK);
    return out;
  }

  VehiclesOutcome& list(const LinkSecrets& secrets) {
    std::vector<oemlink_str> keys, values;
    for (const auto& [k, v] : secrets) {
      keys.push_back(to_str(k));
      values.push_back(to_str(v));
    }
    VehiclesOutcome& out = lists_.emplace_back();
    EXPECT_EQ(ext->list_vehicles(d_.instance(), keys.data(), values.data(), keys.size(),
                                 &on_vehicles, &out),
              OEMLINK_OK);
    return out;
  }

  const oemlink_link_extension* ext = nullptr;

 private:
  static void OEMLINK_CALL on_exchanged(void* ctx, oemlink_status status, const oemlink_str* keys,
                                        const oemlink_str* values, size_t count,
                                        oemlink_str message) {
    auto* out = static_cast<ExchangeOutcome*>(ctx);
    ++out->calls;
    out->status = status;
    out->message = view(message);
    out->secrets.clear();
    for (size_t i = 0; i < count; ++i) out->secrets.emplace_back(view(keys[i]), view(values[i]));
  }
  static void OEMLINK_CALL on_vehicles(void* ctx, oemlink_status status,
                                       const oemlink_link_vehicle* vehicles, size_t count,
                                       oemlink_str message) {
    auto* out = static_cast<VehiclesOutcome*>(ctx);
    ++out->calls;
    out->status = status;
    out->message = view(message);
    out->vehicles.clear();
    for (size_t i = 0; i < count; ++i) {
      LinkVehicle v;
      v.vehicle_id = view(vehicles[i].vehicle_id);
      v.vin = view(vehicles[i].vin);
      v.display_name = view(vehicles[i].display_name);
      v.identifiers_json = view(vehicles[i].identifiers_json);
      v.make = view(vehicles[i].make);
      v.model = view(vehicles[i].model);
      v.year = vehicles[i].year;
      out->vehicles.push_back(std::move(v));
    }
  }

  testkit::DriverUnderTest& d_;
  std::deque<ExchangeOutcome> exchanges_;
  std::deque<VehiclesOutcome> lists_;
};

}  // namespace oemlink::tesla::test

#endif
