// Calls a loaded driver's oemlink.link/1 extension through the raw C ABI, as the host's linking
// flow does, and records what comes back (the C++ Linker and the SDK adapter are both under test).
#ifndef OEMLINK_TESTS_PLUGINS_SMARTCAR_LINK_CLIENT_HPP
#define OEMLINK_TESTS_PLUGINS_SMARTCAR_LINK_CLIENT_HPP

#include <oemlink/driver.h>
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::smartcar::test {

inline oemlink_str s(std::string_view v) {
  return {v.data(), v.size()};
}
inline std::string str(oemlink_str v) {
  return v.data ? std::string(v.data, v.size) : std::string();
}

struct ExchangeOutcome {
  int calls = 0;
  oemlink_status status = -1;
  std::vector<std::pair<std::string, std::string>> secrets;
  std::string message;
  std::string secret(const std::string& key) const {
    for (const auto& [k, v] : secrets)
      if (k == key) return v;
    return {};
  }
};

struct ListedVehicle {
  std::string vehicle_id, vin, display_name, identifiers_json, make, model;
  uint32_t year = 0;
};

struct VehiclesOutcome {
  int calls = 0;
  oemlink_status status = -1;
  std::vector<ListedVehicle> vehicles;
  std::string message;
};

class LinkClient {
 public:
  explicit LinkClient(testkit::DriverUnderTest& d) : d_(d) {
    ext_ = static_cast<const oemlink_link_extension*>(
        d.descriptor()->get_extension(d.instance(), OEMLINK_EXTENSION_LINK));
  }
  const oemlink_link_extension* extension() const { return ext_; }

  // The URL, or the refusal text with `status` ERROR.
  std::string authorize_url(std::string_view state, std::string_view redirect_uri,
                            std::string_view vehicle_id = {}, oemlink_status* status = nullptr) {
    oemlink_link_authorize a{};
    a.struct_size = sizeof a;
    a.state = s(state);
    a.redirect_uri = s(redirect_uri);
    a.vehicle_id = s(vehicle_id);
    std::string buf(16, '\0');
    size_t size = 0;
    oemlink_status st = ext_->authorize_url(d_.instance(), &a, buf.data(), buf.size(), &size);
    // The first buffer is too small on purpose: a URL that does not fit answers RETRY, a
    // refusal that does not fit answers ERROR; both say the size needed.
    if (size > buf.size()) {
      buf.resize(size);
      st = ext_->authorize_url(d_.instance(), &a, buf.data(), buf.size(), &size);
    }
    if (status) *status = st;
    buf.resize(size);
    return buf;
  }

  ExchangeOutcome& exchange(std::string_view code, std::string_view query,
                            std::string_view redirect_uri) {
    exchanges_.emplace_back();
    ExchangeOutcome& out = exchanges_.back();
    oemlink_link_callback cb{};
    cb.struct_size = sizeof cb;
    cb.code = s(code);
    cb.query = s(query);
    cb.redirect_uri = s(redirect_uri);
    const oemlink_status st = ext_->exchange_code(
        d_.instance(), &cb,
        [](void* ctx, oemlink_status status, const oemlink_str* keys, const oemlink_str* values,
           size_t count, oemlink_str message) {
          auto* o = static_cast<ExchangeOutcome*>(ctx);
          ++o->calls;
          o->status = status;
          for (size_t i = 0; i < count; ++i) o->secrets.emplace_back(str(keys[i]), str(values[i]));
          o->message = str(message);
        },
        &out);
    EXPECT_EQ(st, OEMLINK_OK);
    return out;
  }

  VehiclesOutcome& list(const std::vector<std::pair<std::string, std::string>>& secrets) {
    lists_.emplace_back();
    VehiclesOutcome& out = lists_.back();
    std::vector<oemlink_str> ks, vs;
    for (const auto& [k, v] : secrets) {
      ks.push_back(s(k));
      vs.push_back(s(v));
    }
    const oemlink_status st = ext_->list_vehicles(
        d_.instance(), ks.data(), vs.data(), ks.size(),
        [](void* ctx, oemlink_status status, const oemlink_link_vehicle* v, size_t count,
           oemlink_str message) {
          auto* o = static_cast<VehiclesOutcome*>(ctx);
          ++o->calls;
          o->status = status;
          for (size_t i = 0; i < count; ++i)
            o->vehicles.push_back({str(v[i].vehicle_id), str(v[i].vin), str(v[i].display_name),
                                   str(v[i].identifiers_json), str(v[i].make), str(v[i].model),
                                   v[i].year});
          o->message = str(message);
        },
        &out);
    EXPECT_EQ(st, OEMLINK_OK);
    return out;
  }

 private:
  testkit::DriverUnderTest& d_;
  const oemlink_link_extension* ext_ = nullptr;
  // Stable addresses: the driver may answer after the call returns.
  std::deque<ExchangeOutcome> exchanges_;
  std::deque<VehiclesOutcome> lists_;
};

}  // namespace oemlink::smartcar::test

#endif  // OEMLINK_TESTS_PLUGINS_SMARTCAR_LINK_CLIENT_HPP
