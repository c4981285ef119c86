// What a Smartcar error answer means for the connection. Accepts both body shapes: v3
// {"errors":[{status,code,title,detail[,type,resolution]}]} and v2 {type,code,description,
// resolution:{type[,url]}}, and a body that is neither (then the HTTP status alone decides).
#ifndef OEMLINK_SMARTCAR_ERROR_CLASSIFIER_HPP
#define OEMLINK_SMARTCAR_ERROR_CLASSIFIER_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::smartcar {

enum class ErrorAction {
  asleep,        // 409 VEHICLE_STATE: report ASLEEP, the round is done
  rate_limited,  // 429: report RATE_LIMITED until `until_ms` (0 = host default)
  unauthorized,  // 401 (whatever its resolution): refresh the access token once, then re-auth
  reauth,        // resolution REAUTHENTICATE: report NEEDS_REAUTH with `reauth_url`
  failed,        // 430 BILLING, 403, 404, 501...: report FAILED, no more polls
  transient,     // 5xx and unknown: retry, the host backs off
  error,         // other 4xx: this poll failed, later ones may not
};

struct SmartcarError {
  ErrorAction action = ErrorAction::transient;
  int http_status = 0;
  std::string type;        // "RATE_LIMIT", "BILLING", ... ("" in a v3 body without it)
  std::string code;        // "VEHICLE", "SMARTCAR_API", "ASLEEP", ...
  std::string reauth_url;  // resolution.url when Smartcar gave one
  int64_t until_ms = 0;    // with rate_limited
  bool app_wide = false;   // a 429 for the whole application (RATE_LIMIT:SMARTCAR_API)
  std::string reason;      // one line for operators: "smartcar 430 BILLING:VEHICLE_LIMIT: ..."
};

// `retry_after` is the response's Retry-After header (seconds or an HTTP date is not used by
// Smartcar: seconds only), `now_ms` the host clock.
SmartcarError classify_error(int http_status, std::string_view body, std::string_view retry_after,
                             int64_t now_ms);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_ERROR_CLASSIFIER_HPP
