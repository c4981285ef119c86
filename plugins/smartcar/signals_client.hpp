// The v3 read path: the signals URL of a vehicle, its pages, and where `links.next` leads.
// The round that drives the requests lives in smartcar_connection.cpp.
#ifndef OEMLINK_SMARTCAR_SIGNALS_CLIENT_HPP
#define OEMLINK_SMARTCAR_SIGNALS_CLIENT_HPP

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::smartcar {

// <api_base>/vehicles/<id>/signals, the id percent-encoded.
std::string signals_url(std::string_view api_base, std::string_view vehicle_id);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view s);

// `links.next` as an absolute URL: absolute links must be on the API base's own origin (the
// bearer token never goes elsewhere), "/path" links are joined to that origin (or to the base
// when they lack its path prefix), "?query" links replace the current query. nullopt when there
// is no usable link; `refused` is set when a link was there but pointed elsewhere.
std::optional<std::string> resolve_next(std::string_view api_base, std::string_view current_url,
                                        std::string_view next, bool* refused = nullptr);

struct SignalsPage {
  boost::json::value doc;
  const boost::json::array* data = nullptr;  // into doc
  std::string next;                          // links.next, "" when last
};

// Parses one page; nullopt with `error` set when the body is not a signals page.
std::optional<SignalsPage> parse_signals_page(std::string_view body, std::string& error);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_SIGNALS_CLIENT_HPP
