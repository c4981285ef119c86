// The admin API's request bodies (JSON objects), read strictly: an unknown member, a wrong type
// or a bad value is refused with a message naming the field ("connections[2].vin: ..."), never
// quoting a secret. Parsing allocates from a resource that wipes what it frees, since an add
// request carries OAuth secrets.
#pragma once

#include "core/host/connection_control.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace oemlink::admin {

// Connections in one add request at most.
inline constexpr size_t kMaxAddPerRequest = 10'000;

// POST /admin/connections: {"connections":[{...}]}. `body` is wiped once read. False with
// `error` set when anything is wrong (nothing is added then).
bool read_add_body(std::string& body, std::vector<host::NewConnection>& out, std::string& error);

// pause and revoke: empty, or {"reason": "..."}.
bool read_reason_body(const std::string& body, std::string& reason, std::string& error);

// tokens: {"vehicle_token_id"?, "synthetic_token_id"?}, each a positive integer (a JSON number
// or a decimal string); at least one.
bool read_tokens_body(const std::string& body, uint64_t& vehicle_token_id,
                      uint64_t& synthetic_token_id, std::string& error);

// resume and poll: empty or {}.
bool read_empty_body(const std::string& body, std::string& error);

}  // namespace oemlink::admin
