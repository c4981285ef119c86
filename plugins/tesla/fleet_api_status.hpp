// What a Fleet API answer means for the driver, decided in one place from the status code,
// headers and envelope (oem-apis.md "Status codes"). The callers act on the Kind; the reason is
// operator-facing text and never contains a token.
#ifndef OEMLINK_TESLA_FLEET_API_STATUS_HPP
#define OEMLINK_TESLA_FLEET_API_STATUS_HPP

#include <oemlink/driver.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::tesla {

struct ApiOutcome {
  enum class Kind {
    ok,            // 2xx
    asleep,        // 408, or 5xx with "vehicle unavailable": the car is offline or asleep
    rate_limited,  // 429: nothing before `until_ms`
    unauthorized,  // 401: refresh once, then re-auth
    misdirected,   // 421: wrong region; `redirect_base` when the answer names the right one
    retry,         // 5xx, 540, transport failures: the host backs off
    failed,        // permanent for this car (402, 403, 404, 412, 423, 451, ...)
    reauth,        // not from Tesla's answer: the token chain is dead (see reason)
  };
  Kind kind = Kind::retry;
  int http_status = 0;
  int64_t until_ms = 0;
  std::string reason;
  std::string redirect_base;  // "https://host" for misdirected
  // Tesla bills every response below 500 (a sleeping car's 408 too); none at or above 500.
  bool billed = false;

  static ApiOutcome of(Kind kind, std::string reason = {}) {
    ApiOutcome o;
    o.kind = kind;
    o.reason = std::move(reason);
    return o;
  }
};

ApiOutcome classify_fleet_response(const HttpResponse& response, int64_t now_ms);

// The envelope's "error" (and "error_description"), trimmed to a safe length for reasons.
std::string envelope_error(std::string_view body);

// Seconds from Retry-After, else RateLimit-Reset, else "Retry in N seconds" in the body; -1
// when none says.
int64_t retry_after_seconds(const HttpResponse& response);

// The region base URL named by a 421's Alt-Svc header (`h2=https://<host>` or `h2="host:port"`)
// or its error text ("use base URL: https://..."); empty when neither names one.
std::string misdirected_base_url(const HttpResponse& response);

}  // namespace oemlink::tesla

#endif
