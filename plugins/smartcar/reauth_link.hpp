// Where an owner re-authenticates a Smartcar vehicle, and the one-line reason that says so: the
// poll round and the token chain (which tells every car of a dead consent) word it the same way.
#ifndef OEMLINK_SMARTCAR_REAUTH_LINK_HPP
#define OEMLINK_SMARTCAR_REAUTH_LINK_HPP

#include "smartcar_settings.hpp"

#include <string>
#include <string_view>

namespace oemlink::smartcar {

// Smartcar Connect's re-auth page for a vehicle, for an error that carries no URL of its own.
std::string reauth_url(const SmartcarSettings& settings, std::string_view vehicle_id);

// "smartcar: the owner must re-authenticate the vehicle at <url> (<why>)"; `given_url` is
// Smartcar's own link when it sent one.
std::string reauth_reason(const SmartcarSettings& settings, std::string_view vehicle_id,
                          std::string_view given_url, std::string_view why);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_REAUTH_LINK_HPP
