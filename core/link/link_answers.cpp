#include "core/link/link_answers.hpp"

#include <boost/json/serialize.hpp>

namespace oemlink::link {
namespace {

const net::HeaderList& no_store() {
  static const net::HeaderList h{{"Cache-Control", "no-store"}};
  return h;
}

net::InboundResponse html_page(int status, std::string_view title, const std::string& body_html) {
  net::InboundResponse r;
  r.status = status;
  r.headers = no_store();
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  // Nothing on these pages needs a script, a frame or another origin.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
           "</title></head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n" + body_html +
           "</body></html>\n";
  return r;
}

std::string text_of(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return boost::json::serialize(v);
}

}  // namespace

bool prefers_html(std::string_view accept) {
  size_t html = accept.find("text/html");
  if (html == std::string_view::npos) return false;
  size_t json = accept.find("application/json");
  return json == std::string_view::npos || html < json;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string sanitised(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() == 200) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

net::InboundResponse json_answer(int status, std::string body) {
  net::InboundResponse r;
  r.status = status;
  r.headers = no_store();
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

net::InboundResponse error_answer(int status, std::string_view message, bool html,
                                  boost::json::object extra) {
  if (html) {
    std::string body = "<p>" + html_escape(message) + "</p>\n";
    if (auto* refused = extra.if_contains("refused"); refused && refused->is_array()) {
      body += "<ul>\n";
      for (const auto& r : refused->as_array()) {
        if (!r.is_object()) continue;
        const auto& o = r.as_object();
        body += "<li>" + html_escape(text_of(o.contains("vin") ? o.at("vin") : nullptr)) + " " +
                html_escape(text_of(o.contains("vehicle_id") ? o.at("vehicle_id") : nullptr)) +
                ": " + html_escape(text_of(o.contains("reason") ? o.at("reason") : nullptr)) +
                "</li>\n";
      }
      body += "</ul>\n";
    }
    return html_page(status, "Linking failed", body);
  }
  boost::json::object o = std::move(extra);
  o["error"] = message;
  return json_answer(status, boost::json::serialize(o));
}

net::InboundResponse linked_answer(const boost::json::object& body, bool html) {
  if (!html) return json_answer(200, boost::json::serialize(body));
  std::string page =
      "<table>\n<tr><th>connection</th><th>VIN</th><th>car</th>"
      "<th>device address</th><th>state</th></tr>\n";
  if (auto* cs = body.if_contains("connections"); cs && cs->is_array()) {
    for (const auto& c : cs->as_array()) {
      const auto& o = c.as_object();
      page += "<tr><td>" + html_escape(text_of(o.at("connection_id"))) + "</td><td>" +
              html_escape(text_of(o.at("vin"))) + "</td><td>" +
              html_escape(text_of(o.at("display_name"))) + "</td><td>" +
              html_escape(text_of(o.at("device_address"))) + "</td><td>" +
              html_escape(text_of(o.at("state"))) + "</td></tr>\n";
    }
  }
  page += "</table>\n";
  if (auto* refused = body.if_contains("refused");
      refused && refused->is_array() && !refused->as_array().empty()) {
    page += "<p>Not linked:</p>\n<ul>\n";
    for (const auto& r : refused->as_array()) {
      const auto& o = r.as_object();
      page += "<li>" + html_escape(text_of(o.at("vin"))) + " " +
              html_escape(text_of(o.at("vehicle_id"))) + ": " +
              html_escape(text_of(o.at("reason"))) + "</li>\n";
    }
    page += "</ul>\n";
  }
  // The frontend that mints reads the same data the JSON answer carries.
  page += "<pre id=\"link-result\">" + html_escape(boost::json::serialize(body)) + "</pre>\n";
  return html_page(200, "Car linked", page);
}

}  // namespace oemlink::link
