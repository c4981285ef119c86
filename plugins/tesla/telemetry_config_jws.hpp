// The fleet_telemetry_config a car is told to stream with, and its Tesla.SS256 JWS: the form
// /api/1/vehicles/fleet_telemetry_config_jws accepts (what vehicle-command's proxy builds).
#ifndef OEMLINK_TESLA_TELEMETRY_CONFIG_JWS_HPP
#define OEMLINK_TESLA_TELEMETRY_CONFIG_JWS_HPP

#include "schnorr_p256.hpp"
#include "tesla_settings.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace oemlink::tesla {

inline constexpr const char* kTelemetryAudience = "com.tesla.fleet.TelemetryClient";

// {"hostname","port","ca","fields":{F:{interval_seconds[,minimum_delta]}},"prefer_typed":true}
boost::json::object build_telemetry_config(const TeslaSettings& settings);

// header.claims.signature, base64url each, claims = `config` + iss (standard base64 of the
// public point) + aud.
std::string sign_telemetry_config(const boost::json::object& config, const SchnorrP256Key& key);

// The request body: {"vins":[...],"token":"<jws>"}.
std::string telemetry_config_request_body(const std::vector<std::string>& vins,
                                          const std::string& jws);

}  // namespace oemlink::tesla

#endif
