// A 200 answer of Tesla's token endpoint (a refresh or a code exchange), read the one way both
// trust: an access_token and a numeric expires_in, and a refresh_token that, when present, is a
// non-empty string. expires_in is clamped so that neither 0 (refresh, and rotate, on every call)
// nor a huge value (overflow) reaches the clock arithmetic.
#ifndef OEMLINK_TESLA_TOKEN_ANSWER_HPP
#define OEMLINK_TESLA_TOKEN_ANSWER_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::tesla {

struct TokenAnswer {
  bool well_formed = false;
  std::string access_token;   // with well_formed
  std::string refresh_token;  // a non-empty refresh_token the answer holds, even when malformed
  int64_t lifetime_ms = 0;    // with well_formed: expires_in clamped to [60 s, 30 d]
};

inline constexpr int64_t kMinTokenLifetimeS = 60;
inline constexpr int64_t kMaxTokenLifetimeS = 30 * 86400;

TokenAnswer parse_token_answer(std::string_view body);

// The answer's "error" member when it is a plain OAuth error code (letters, digits, '_', '-',
// '.'; at most 64), else empty: safe to show, never an echo of what was sent.
std::string oauth_error_code(std::string_view body);

}  // namespace oemlink::tesla

#endif
