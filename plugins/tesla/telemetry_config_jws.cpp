#include "telemetry_config_jws.hpp"

#include "base64.hpp"

#include <boost/json.hpp>

namespace oemlink::tesla {

boost::json::object build_telemetry_config(const TeslaSettings& settings) {
  boost::json::object fields;
  for (const TelemetryFieldConfig& f : settings.telemetry_field_list) {
    boost::json::object spec;
    spec["interval_seconds"] = f.interval_seconds;
    if (f.minimum_delta > 0) spec["minimum_delta"] = f.minimum_delta;
    fields[f.name] = std::move(spec);
  }
  boost::json::object config;
  config["hostname"] = settings.telemetry_hostname;
  config["port"] = settings.telemetry_port;  // an integer: a string is refused (FT#119)
  config["ca"] = settings.telemetry_ca_pem;
  config["fields"] = std::move(fields);
  config["prefer_typed"] = true;
  return config;
}

std::string sign_telemetry_config(const boost::json::object& config, const SchnorrP256Key& key) {
  boost::json::object claims = config;
  claims["iss"] = base64_encode(key.public_point());
  claims["aud"] = kTelemetryAudience;
  const std::string header = R"({"alg":"Tesla.SS256","typ":"JWT"})";
  const std::string signing_input =
      base64url_encode(header) + "." + base64url_encode(boost::json::serialize(claims));
  const std::string signature = key.sign(signing_input);
  if (signature.size() != 96) return {};
  return signing_input + "." + base64url_encode(signature);
}

std::string telemetry_config_request_body(const std::vector<std::string>& vins,
                                          const std::string& jws) {
  boost::json::object body;
  boost::json::array list;
  for (const std::string& v : vins) list.emplace_back(v);
  body["vins"] = std::move(list);
  body["token"] = jws;
  return boost::json::serialize(body);
}

}  // namespace oemlink::tesla
