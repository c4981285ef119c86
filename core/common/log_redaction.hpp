// The last line of defence against a secret in a log line: every message (the host's and the
// drivers', text and JSON) passes here before it is written. Masks the value after a secret's
// key (`access_token=…`, `"client_secret":"…"`, `password: …`), the credentials of an
// `Authorization`-style `Bearer …`/`Basic …`, and anything shaped like a JWT. Code must still
// never log a secret: this catches the mistake, it does not license it.
#pragma once

#include <string>
#include <string_view>

namespace oemlink {

inline constexpr std::string_view kRedacted = "[redacted]";

// [any-thread] `msg` with every recognised secret value replaced by kRedacted.
std::string redact_secrets(std::string_view msg);

}  // namespace oemlink
