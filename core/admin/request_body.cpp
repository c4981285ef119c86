#include "core/admin/request_body.hpp"

#include "core/common/secure_wipe.hpp"
#include "core/config/duration.hpp"
#include "core/config/scalars.hpp"
#include "core/config/value_checks.hpp"

#include <boost/json/memory_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <initializer_list>
#include <new>
#include <optional>

namespace oemlink::admin {
namespace {

namespace json = boost::json;

// Every block a parsed body used (the parser's scratch included) is wiped when freed.
class WipingResource final : public json::memory_resource {
  void* do_allocate(size_t n, size_t align) override {
    return ::operator new(n, std::align_val_t(align));
  }
  void do_deallocate(void* p, size_t n, size_t align) override {
    secure_wipe(p, n);
    ::operator delete(p, n, std::align_val_t(align));
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

// The body as an object (empty text: an empty object). Members outside `allowed` are refused.
std::optional<json::value> read_object(std::string_view body,
                                       std::initializer_list<std::string_view> allowed,
                                       const std::string& where, std::string& error) {
  json::storage_ptr sp = json::make_shared_resource<WipingResource>();
  if (std::all_of(body.begin(), body.end(),
                  [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }))
    return json::value(json::object(sp));
  json::parser p(sp);
  p.reset(sp);
  boost::system::error_code ec;
  p.write(body.data(), body.size(), ec);
  if (ec) {
    error = "request body: not JSON (" + ec.message() + ")";
    return std::nullopt;
  }
  json::value v = p.release();
  if (!v.is_object()) {
    error = "request body: expected a JSON object";
    return std::nullopt;
  }
  for (const auto& member : v.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(member.key())) ==
        allowed.end()) {
      std::string valid;
      for (std::string_view a : allowed) valid += (valid.empty() ? "" : ", ") + std::string(a);
      error =
          where + std::string(member.key()) + ": unknown field" +
          (valid.empty() ? std::string(" (this request takes none)") : " (valid: " + valid + ")");
      return std::nullopt;
    }
  }
  return v;
}

bool read_string(const json::object& o, std::string_view key, const std::string& where,
                 std::string& out, std::string& error, size_t max = 1024) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) {
    error = where + std::string(key) + ": expected a string";
    return false;
  }
  if (v->as_string().size() > max) {
    error = where + std::string(key) + ": longer than " + std::to_string(max) + " characters";
    return false;
  }
  out.assign(v->as_string().data(), v->as_string().size());
  return true;
}

// A token id: a JSON integer or a decimal string (JavaScript clients lose integers past 2^53).
bool read_token_id(const json::object& o, std::string_view key, const std::string& where,
                   uint64_t& out, std::string& error) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  std::optional<uint64_t> n;
  if (v->is_uint64()) n = v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) n = static_cast<uint64_t>(v->as_int64());
  if (v->is_string()) n = config::parse_uint64(std::string_view(v->as_string())).value;
  if (!n || *n == 0) {
    error =
        where + std::string(key) + ": expected a positive integer (a number or a decimal string)";
    return false;
  }
  out = *n;
  return true;
}

// identifiers and secrets: an object of strings.
bool read_string_map(const json::object& o, std::string_view key, const std::string& where,
                     std::vector<std::pair<std::string, std::string>>& out, std::string& error) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_object()) {
    error = where + std::string(key) + ": expected an object of strings";
    return false;
  }
  for (const auto& m : v->as_object()) {
    if (!m.value().is_string() || m.key().empty()) {
      error = where + std::string(key) + "." + std::string(m.key()) +
              (m.key().empty() ? ": an empty name" : ": expected a string");
      return false;
    }
    out.emplace_back(std::string(m.key()), std::string(m.value().as_string()));
  }
  return true;
}

bool read_new_connection(const json::value& entry, const std::string& where, host::NewConnection& c,
                         std::string& error) {
  if (!entry.is_object()) {
    error = where.substr(0, where.size() - 1) + ": expected an object";
    return false;
  }
  const json::object& o = entry.as_object();
  for (const auto& member : o) {
    static constexpr std::string_view kKeys[] = {"id",
                                                 "driver",
                                                 "vin",
                                                 "vehicle_id",
                                                 "display_name",
                                                 "identifiers",
                                                 "vehicle_token_id",
                                                 "synthetic_token_id",
                                                 "poll_interval",
                                                 "secrets"};
    if (std::find(std::begin(kKeys), std::end(kKeys), std::string_view(member.key())) ==
        std::end(kKeys)) {
      error = where + std::string(member.key()) +
              ": unknown field (valid: id, driver, vin, vehicle_id, display_name, identifiers, "
              "vehicle_token_id, synthetic_token_id, poll_interval, secrets)";
      return false;
    }
  }
  if (!read_string(o, "id", where, c.id, error, 128) ||
      !read_string(o, "driver", where, c.driver, error, 128) ||
      !read_string(o, "vin", where, c.vin, error, 17) ||
      !read_string(o, "vehicle_id", where, c.vehicle_id, error) ||
      !read_string(o, "display_name", where, c.display_name, error) ||
      !read_token_id(o, "vehicle_token_id", where, c.vehicle_token_id, error) ||
      !read_token_id(o, "synthetic_token_id", where, c.synthetic_token_id, error))
    return false;
  if (!c.id.empty() && !config::is_connection_id(c.id)) {
    error = where + "id: must match [A-Za-z0-9_.:-]+";
    return false;
  }
  if (c.driver.empty()) {
    error = where + "driver: required (a configured driver instance)";
    return false;
  }
  if (!config::is_vin_or_empty(c.vin)) {
    error = where + "vin: must be 17 characters of 0-9 and A-Z without I, O and Q";
    return false;
  }
  std::vector<std::pair<std::string, std::string>> identifiers;
  if (!read_string_map(o, "identifiers", where, identifiers, error)) return false;
  json::object ids;
  for (auto& [k, v] : identifiers) ids[k] = v;
  c.identifiers_json = json::serialize(ids);
  if (const json::value* p = o.if_contains("poll_interval"); p && !p->is_null()) {
    std::optional<config::Duration> d;
    if (p->is_string()) d = config::parse_duration(std::string_view(p->as_string())).value;
    if (!d || d->count() <= 0) {
      error = where + "poll_interval: expected a positive duration such as \"30s\" or \"5m\"";
      return false;
    }
    c.poll_interval = std::chrono::milliseconds(d->count());
  }
  std::vector<std::pair<std::string, std::string>> secrets;
  const bool ok = read_string_map(o, "secrets", where, secrets, error);
  for (auto& [k, v] : secrets) {
    if (ok) c.secrets.add(k, v);
    secure_wipe(v);
  }
  return ok;
}

}  // namespace

bool read_add_body(std::string& body, std::vector<host::NewConnection>& out, std::string& error) {
  std::optional<json::value> v = read_object(body, {"connections"}, "", error);
  secure_wipe(body);
  if (!v) return false;
  const json::value* list = v->as_object().if_contains("connections");
  if (!list || !list->is_array()) {
    error = "connections: required, an array of connections";
    return false;
  }
  const json::array& a = list->as_array();
  if (a.empty() || a.size() > kMaxAddPerRequest) {
    error = "connections: give 1 to " + std::to_string(kMaxAddPerRequest) + " connections";
    return false;
  }
  out.clear();
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    host::NewConnection c;
    c.source = host::ConnectionSource::api;
    if (!read_new_connection(a[i], "connections[" + std::to_string(i) + "].", c, error)) {
      out.clear();
      return false;
    }
    out.push_back(std::move(c));
  }
  return true;
}

bool read_reason_body(const std::string& body, std::string& reason, std::string& error) {
  std::optional<json::value> v = read_object(body, {"reason"}, "", error);
  return v && read_string(v->as_object(), "reason", "", reason, error, 500);
}

bool read_tokens_body(const std::string& body, uint64_t& vehicle_token_id,
                      uint64_t& synthetic_token_id, std::string& error) {
  std::optional<json::value> v =
      read_object(body, {"vehicle_token_id", "synthetic_token_id"}, "", error);
  if (!v) return false;
  vehicle_token_id = synthetic_token_id = 0;
  if (!read_token_id(v->as_object(), "vehicle_token_id", "", vehicle_token_id, error) ||
      !read_token_id(v->as_object(), "synthetic_token_id", "", synthetic_token_id, error))
    return false;
  if (vehicle_token_id == 0 && synthetic_token_id == 0) {
    error = "request body: give vehicle_token_id, synthetic_token_id or both";
    return false;
  }
  return true;
}

bool read_empty_body(const std::string& body, std::string& error) {
  return read_object(body, {}, "", error).has_value();
}

}  // namespace oemlink::admin
