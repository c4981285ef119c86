#include "v2_responses.hpp"

#include "json_fields.hpp"
#include "signal_timestamp.hpp"

#include <strings.h>

namespace oemlink::smartcar {
namespace {

std::string_view header(const boost::json::value* headers, std::string_view name) {
  if (!json::is_object(headers)) return {};
  for (const auto& kv : headers->as_object()) {
    const std::string_view k(kv.key().data(), kv.key().size());
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0)
      return json::string(&kv.value()).value_or(std::string_view());
  }
  return {};
}

}  // namespace

void map_v2_responses(const boost::json::array& responses, UnitSystem default_units, int64_t now_ms,
                      std::vector<oemlink_reading>& out, MapStats& stats) {
  for (const boost::json::value& r : responses) {
    const std::string_view path = json::text(&r, "path");
    const auto code = json::number(json::member(&r, "code"));
    if (path.empty()) {
      ++stats.rejected;
      if (stats.first_rejection.empty()) stats.first_rejection = "v2 response: has no path";
      continue;
    }
    if (code && *code != 200) {
      ++stats.skipped_status;
      continue;
    }
    const boost::json::value* headers = json::member(&r, "headers");
    UnitSystem units = default_units;
    const std::string_view system = header(headers, "sc-unit-system");
    if (system == "imperial") units = UnitSystem::imperial;
    if (system == "metric") units = UnitSystem::metric;
    const int64_t ts = parse_timestamp_text_ms(header(headers, "sc-data-age")).value_or(now_ms);
    map_v2_response(path, json::member(&r, "body"), units, ts, out, stats);
  }
}

}  // namespace oemlink::smartcar
