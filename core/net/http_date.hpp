// HTTP's Date header (RFC 9110 IMF-fixdate, "Wed, 02 Dec 2026 03:00:00 GMT"): what `doctor` and the
// running daemon's ClockSkewEstimator both read a peer's clock from.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace oemlink::net {

// The instant an IMF-fixdate names (one-second resolution), or nullopt when `text` is not one.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view text);

}  // namespace oemlink::net
