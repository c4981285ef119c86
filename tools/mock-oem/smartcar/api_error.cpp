#include "tools/mock-oem/smartcar/api_error.hpp"

#include <boost/json.hpp>

namespace oemlink::mock_oem::smartcar {

namespace json = boost::json;

std::optional<ErrorShape> parse_error_shape(std::string_view name) {
  if (name == "v3") return ErrorShape::v3;
  if (name == "v2") return ErrorShape::v2;
  if (name == "raw") return ErrorShape::raw;
  return std::nullopt;
}

std::string_view error_shape_name(ErrorShape shape) {
  switch (shape) {
    case ErrorShape::v3:
      return "v3";
    case ErrorShape::v2:
      return "v2";
    case ErrorShape::raw:
      return "raw";
  }
  return "v3";
}

ApiError documented_error(unsigned status, std::optional<std::string> code) {
  ApiError e;
  e.status = status;
  auto set = [&](std::string type, std::optional<std::string> default_code, std::string title,
                 std::string description, std::optional<std::string> resolution) {
    e.type = std::move(type);
    e.code = code ? code : std::move(default_code);
    e.title = std::move(title);
    e.description = std::move(description);
    e.resolution_type = std::move(resolution);
  };
  switch (status) {
    case 400:
      set("VALIDATION", "PARAMETER", "Validation",
          "Request invalid or malformed. Please check for missing parameters, spelling and "
          "casing mistakes, and other syntax issues.",
          std::nullopt);
      break;
    case 401:
      set("AUTHENTICATION", std::nullopt, "Authentication",
          "The authorization header is missing or malformed, or it contains invalid or expired "
          "authentication credentials. Please check for missing parameters, spelling and casing "
          "mistakes, and other syntax issues.",
          "REAUTHENTICATE");
      break;
    case 403:
      set("PERMISSION", std::nullopt, "Permission",
          "Your application has insufficient permissions to access the requested resource. "
          "Please prompt the user to re-authenticate using Smartcar Connect.",
          "REAUTHENTICATE");
      break;
    case 404:
      set("RESOURCE_NOT_FOUND", "PATH", "Resource Not Found",
          "The requested resource does not exist. Please check the URL and try again.",
          std::nullopt);
      break;
    case 409:
      set("VEHICLE_STATE", "ASLEEP", "Asleep",
          "The vehicle is in a sleep state and temporarily unable to perform your request. "
          "Either the vehicle has been inactive for a certain period of time or the vehicle has "
          "low battery.",
          std::nullopt);
      break;
    case 429:
      set("RATE_LIMIT", "SMARTCAR_API", "Rate Limit",
          "Your application has exceeded its rate limit. Please retry your request in a few "
          "minutes.",
          "RETRY_LATER");
      if (e.code == "VEHICLE")
        e.description =
            "You have reached the throttling rate limit for this vehicle. Please see the "
            "retry-after header for when to retry the request.";
      break;
    case 430:
      set("BILLING", "VEHICLE_REQUEST_LIMIT", "Billing",
          "You have reached the monthly request limit for this vehicle on your plan.",
          std::nullopt);
      break;
    case 501:
      set("COMPATIBILITY", "VEHICLE_NOT_CAPABLE", "Compatibility",
          "The vehicle is incapable of performing your request.", std::nullopt);
      break;
    case 502:
      set("UPSTREAM", "UNKNOWN_ISSUE", "Upstream",
          "An unexpected error occurred while communicating with the vehicle manufacturer.",
          "RETRY_LATER");
      break;
    case 503:
      set("SERVER", "SERVICE_UNAVAILABLE", "Service Unavailable",
          "The service is temporarily unavailable.", "RETRY_LATER");
      break;
    case 504:
      set("SERVER", "GATEWAY_TIMEOUT", "Gateway Timeout", "The upstream request timed out.",
          "RETRY_LATER");
      break;
    default:
      set("SERVER", "INTERNAL", "Server",
          "Smartcar experienced an unexpected error. Please try again later.", "RETRY_LATER");
      break;
  }
  return e;
}

std::string reauthenticate_url(std::string_view client_id, std::string_view vehicle_id) {
  std::string url =
      "https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&client_id=";
  url += client_id;
  if (!vehicle_id.empty()) {
    url += "&vehicle_id=";
    url += vehicle_id;
  }
  return url;
}

namespace {

json::value resolution_of(const ApiError& e) {
  json::object r;
  if (e.resolution_type)
    r["type"] = *e.resolution_type;
  else
    r["type"] = nullptr;
  if (!e.resolution_url.empty()) r["url"] = e.resolution_url;
  return r;
}

std::string doc_url(const ApiError& e) {
  std::string group = e.type;
  for (auto& c : group) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  std::string url = "https://smartcar.com/docs/errors/api-errors/" + group + "-errors";
  if (e.code) {
    std::string anchor = *e.code;
    for (auto& c : anchor) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
    url += "#" + anchor;
  }
  return url;
}

}  // namespace

Reply render_error(const ApiError& e, ErrorShape shape, std::string_view request_id) {
  Reply reply;
  reply.status = e.status;
  reply.headers.emplace_back("SC-Request-Id", std::string(request_id));
  if (e.retry_after_s >= 0)
    reply.headers.emplace_back("retry-after", std::to_string(e.retry_after_s));
  switch (shape) {
    case ErrorShape::raw:
      reply.content_type = "text/html";
      reply.body = "<html><head><title>" + std::to_string(e.status) + " " + e.title +
                   "</title></head><body><center><h1>" + std::to_string(e.status) + " " + e.title +
                   "</h1></center></body></html>\n";
      return reply;
    case ErrorShape::v3: {
      json::object item;
      item["status"] = std::to_string(e.status);
      if (e.code)
        item["code"] = *e.code;
      else
        item["code"] = nullptr;
      item["title"] = e.title;
      item["detail"] = e.description;
      item["type"] = e.type;
      item["resolution"] = resolution_of(e);
      json::array errors;
      errors.push_back(std::move(item));
      reply.body = json::serialize(json::object{{"errors", std::move(errors)}});
      return reply;
    }
    case ErrorShape::v2: {
      json::object body;
      body["type"] = e.type;
      if (e.code)
        body["code"] = *e.code;
      else
        body["code"] = nullptr;
      body["description"] = e.description;
      body["docURL"] = doc_url(e);
      body["statusCode"] = e.status;
      body["requestId"] = request_id;
      body["resolution"] = resolution_of(e);
      reply.body = json::serialize(body);
      return reply;
    }
  }
  return reply;
}

}  // namespace oemlink::mock_oem::smartcar
