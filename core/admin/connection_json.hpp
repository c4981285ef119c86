// What the admin API answers, as JSON: a connection's view (every ConnectionView field, state and
// source by name, never a secret), the counts by state, and an error.
#pragma once

#include "core/host/connection_control.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string_view>

namespace oemlink::admin {

// `with_mint`: adds "mint", the stored mint request (an object) or null.
boost::json::object view_json(const host::ConnectionView& view, bool with_mint = false);

// Every state by name, 0 when none: {"linking":0,"active":12,...}.
boost::json::object counts_json(const std::map<host::ConnectionState, size_t>& counts);

// {"error": message}, serialized.
std::string error_body(std::string_view message);

}  // namespace oemlink::admin
