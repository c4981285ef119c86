// JSON text as Tesla's services write it: numbers in plain decimal (47.004162, 2.9, 22), not
// Boost.JSON's exponent form (4.7004162E1), so answers and MQTT payloads read like the real ones.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace oemlink::mock_oem::tesla {

std::string to_json_text(const boost::json::value& value);

}  // namespace oemlink::mock_oem::tesla
