#include "core/host/connection_control.hpp"

#include <array>

namespace oemlink::host {
namespace {

constexpr std::array<std::pair<ConnectionState, std::string_view>, 5> kStates{{
    {ConnectionState::linking, "linking"},
    {ConnectionState::active, "active"},
    {ConnectionState::paused, "paused"},
    {ConnectionState::needs_reauth, "needs_reauth"},
    {ConnectionState::revoked, "revoked"},
}};

}  // namespace

std::string_view state_name(ConnectionState s) {
  for (auto& [state, name] : kStates)
    if (state == s) return name;
  return "unknown";
}

std::optional<ConnectionState> parse_state(std::string_view name) {
  for (auto& [state, n] : kStates)
    if (n == name) return state;
  return std::nullopt;
}

std::string_view source_name(ConnectionSource s) {
  switch (s) {
    case ConnectionSource::config:
      return "config";
    case ConnectionSource::linked:
      return "linked";
    case ConnectionSource::api:
      return "api";
  }
  return "unknown";
}

int http_status_of(ControlError e) {
  switch (e) {
    case ControlError::none:
      return 200;
    case ControlError::not_found:
      return 404;
    case ControlError::conflict:
      return 409;
    case ControlError::bad_request:
      return 400;
    case ControlError::unavailable:
      return 503;
  }
  return 500;
}

}  // namespace oemlink::host
