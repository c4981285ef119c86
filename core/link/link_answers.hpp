// How the linking routes answer: JSON for programs, a small escaped HTML page for a browser
// (Accept preferring text/html), errors likewise. Every answer is Cache-Control: no-store (they
// carry mint grants and the maker's redirects). Nothing here ever receives a secret to print.
#pragma once

#include "core/net/inbound_http.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace oemlink::link {

// True when `accept` lists text/html before (or without) application/json.
bool prefers_html(std::string_view accept);

std::string html_escape(std::string_view text);

// A maker's free text (error_description) fit to show: printable ASCII only (others become '?'),
// at most 200 characters.
std::string sanitised(std::string_view text);

// {"error": message, ...extra} or an HTML page saying `message`.
net::InboundResponse error_answer(int status, std::string_view message, bool html,
                                  boost::json::object extra = {});
// `body` as JSON, or an HTML page listing the linked cars with the JSON below for the frontend.
net::InboundResponse linked_answer(const boost::json::object& body, bool html);
net::InboundResponse json_answer(int status, std::string body);

}  // namespace oemlink::link
