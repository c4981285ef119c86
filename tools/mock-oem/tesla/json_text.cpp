#include "tools/mock-oem/tesla/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace oemlink::mock_oem::tesla {
namespace {

namespace json = boost::json;

// Like Go's encoding/json: shortest round-trip digits, fixed notation for 1e-6 <= |x| < 1e21.
void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == 0) d = 0;  // no -0
  char buf[64];
  const double a = std::fabs(d);
  const auto format = (a == 0 || (a >= 1e-6 && a < 1e21)) ? std::chars_format::fixed
                                                          : std::chars_format::scientific;
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, format);
  out.append(buf, ec == std::errc() ? end : buf);
}

void append(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case json::kind::double_:
      append_double(out, v.get_double());
      break;
    case json::kind::string:
      out += json::serialize(v.get_string());
      break;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append(out, e);
      }
      out += ']';
      break;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, e] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(key));
        out += ':';
        append(out, e);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string to_json_text(const json::value& value) {
  std::string out;
  append(out, value);
  return out;
}

}  // namespace oemlink::mock_oem::tesla
