// Smartcar API errors and their two body shapes (oem-apis.md, "Errors (v2)"): the v3 OpenAPI
// shape {"errors":[{status,code,title,detail}]} and the v2 shape the SDKs parse
// {type,code,description,docURL,statusCode,requestId,resolution}. A driver must accept both,
// so the mock can answer either for the same error.
#pragma once

#include "tools/mock-oem/common/mock_http_server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::mock_oem::smartcar {

// v3: the OpenAPI error list; v2: the SDKs' error object; raw: what an undocumented gateway
// error (503/504) looks like, a non-JSON page.
enum class ErrorShape { v3, v2, raw };

std::optional<ErrorShape> parse_error_shape(std::string_view name);
std::string_view error_shape_name(ErrorShape shape);

struct ApiError {
  unsigned status = 500;
  std::string type;                 // VEHICLE_STATE, RATE_LIMIT, BILLING, ...
  std::optional<std::string> code;  // ASLEEP, SMARTCAR_API, ...; null for some types
  std::string title;
  std::string description;
  std::optional<std::string> resolution_type;  // REAUTHENTICATE, RETRY_LATER, ... or null
  std::string resolution_url;                  // REAUTHENTICATE only
  int retry_after_s = -1;                      // 429: the retry-after header, seconds
};

// The documented error for an HTTP status (oem-apis.md table); `code` overrides the default
// code (e.g. 429 "VEHICLE" instead of "SMARTCAR_API"). Unknown statuses give a SERVER error.
ApiError documented_error(unsigned status, std::optional<std::string> code = std::nullopt);

// Smartcar's re-authentication link for a vehicle (vehicle_id omitted when unknown).
std::string reauthenticate_url(std::string_view client_id, std::string_view vehicle_id);

Reply render_error(const ApiError& error, ErrorShape shape, std::string_view request_id);

}  // namespace oemlink::mock_oem::smartcar
