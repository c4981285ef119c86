#include "error_classifier.hpp"

#include "json_fields.hpp"

#include <boost/json/parse.hpp>

#include <charconv>

namespace oemlink::smartcar {
namespace {

// Text from the remote side goes into operator-facing reasons: one line, bounded.
std::string clean(std::string_view s, size_t max = 240) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (s.size() > max) out += "...";
  return out;
}

int64_t retry_after_ms(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec != std::errc() || ptr != header.data() + header.size() || seconds < 0) return -1;
  // A day is already far beyond Smartcar's documented limits; more is a broken header.
  if (seconds > 86400) seconds = 86400;
  return seconds * 1000;
}

}  // namespace

SmartcarError classify_error(int http_status, std::string_view body, std::string_view retry_after,
                             int64_t now_ms) {
  SmartcarError e;
  e.http_status = http_status;
  std::string description;
  std::string resolution;

  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (!ec) {
    const boost::json::value* err = &doc;
    if (const boost::json::array* errors = json::array(json::member(&doc, "errors"));
        errors && !errors->empty()) {
      err = &errors->front();  // v3: the first error speaks for the answer
    }
    e.type = std::string(json::text(err, "type"));
    e.code = std::string(json::text(err, "code"));
    for (std::string_view key : {"detail", "description", "title", "message"}) {
      if (auto t = json::string(json::member(err, key)); t && !t->empty()) {
        description = std::string(*t);
        break;
      }
    }
    const boost::json::value* res = json::member(err, "resolution");
    resolution = std::string(json::text(res, "type"));
    e.reauth_url = clean(json::text(res, "url"), 512);
    // OAuth-style answers of the token endpoint: {"error":"invalid_grant",...}
    if (e.code.empty()) e.code = std::string(json::text(&doc, "error"));
    if (description.empty()) description = std::string(json::text(&doc, "error_description"));
  }

  e.reason = "smartcar " + std::to_string(http_status);
  if (!e.type.empty() || !e.code.empty())
    e.reason +=
        " " + clean(e.type, 40) + (e.type.empty() || e.code.empty() ? "" : ":") + clean(e.code, 40);
  if (!description.empty()) e.reason += ": " + clean(description);

  // A 401 is tried with a fresh access token first even when it says REAUTHENTICATE: an expired
  // access token earns that answer too, and a refresh cures it.
  if (http_status == 401) {
    e.action = ErrorAction::unauthorized;
  } else if (resolution == "REAUTHENTICATE") {
    e.action = ErrorAction::reauth;
  } else if (http_status == 409) {
    e.action = ErrorAction::asleep;
  } else if (http_status == 429) {
    e.action = ErrorAction::rate_limited;
    e.app_wide = e.code == "SMARTCAR_API";
    const int64_t wait = retry_after_ms(retry_after);
    e.until_ms = wait >= 0 ? now_ms + wait : 0;
  } else if (http_status == 430 || http_status == 403 || http_status == 404 || http_status == 501) {
    e.action = ErrorAction::failed;
  } else if (http_status >= 500 || http_status < 100 || resolution == "RETRY_LATER") {
    e.action = ErrorAction::transient;
  } else if (http_status >= 400) {
    e.action = ErrorAction::error;
  }
  return e;
}

}  // namespace oemlink::smartcar
