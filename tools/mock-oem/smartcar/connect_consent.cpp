#include "tools/mock-oem/smartcar/connect_consent.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

#include <boost/url/params_view.hpp>

#include <cctype>
#include <set>
#include <utility>
#include <vector>

namespace oemlink::mock_oem::smartcar {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// Every key=value of a query or form body, repeated keys kept (vehicle=a&vehicle=b).
bool parse_all(std::string_view text, Params& out) {
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  try {
    for (auto p : boost::urls::params_view(text, opts)) out.emplace_back(p.key, p.value);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string first(const Params& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return {};
}

bool has(const Params& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return true;
  return false;
}

std::string html_escape(std::string_view in) {
  std::string out;
  for (char c : in) {
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

// application/x-www-form-urlencoded, as Connect writes its redirect (spaces as '+').
std::string form_escape(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else if (c == ' ')
      out += '+';
    else
      out += {'%', kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

std::string with_params(std::string url, const Params& params) {
  for (const auto& [k, v] : params) {
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += form_escape(k) + "=" + form_escape(v);
  }
  return url;
}

Reply page(unsigned status, const std::string& title, const std::string& body_html) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
           "</title></head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n" + body_html +
           "</body></html>\n";
  return r;
}

Reply refused(const std::string& why) {
  return page(400, "Smartcar Connect: invalid request",
              "<p class=\"error\">" + html_escape(why) + "</p>\n");
}

Reply redirect(const std::string& location) {
  Reply r;
  r.status = 302;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = "<a href=\"" + html_escape(location) + "\">continue</a>\n";
  return r;
}

// A Smartcar permission: read_... or control_..., a "required:" prefix allowed.
bool known_permission(std::string_view name) {
  if (name.starts_with("required:")) name.remove_prefix(9);
  return (name.starts_with("read_") || name.starts_with("control_")) && name.size() > 6 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
}

}  // namespace

Reply ConnectConsent::authorize(std::string_view query, Fleet& fleet, Clock::time_point now) {
  Params q;
  if (!parse_all(query, q)) return refused("the query string is malformed");
  if (first(q, "response_type") != "code")
    return refused("response_type must be \"code\", got \"" + first(q, "response_type") + "\"");
  if (first(q, "client_id") != client_id_)
    return refused("unknown client_id \"" + first(q, "client_id") + "\"");
  const std::string redirect_uri = first(q, "redirect_uri");
  if (!redirect_uri.starts_with("https://") && !redirect_uri.starts_with("http://"))
    return refused("redirect_uri must be an absolute http(s) URL registered for the application");
  // Connect itself makes state optional; the mock insists, since a client without one cannot
  // tell its own callbacks from forged ones.
  const std::string state = first(q, "state");
  if (state.empty()) return refused("state is missing");
  const std::string scope = first(q, "scope");
  size_t permissions = 0;
  for (size_t i = 0; i < scope.size();) {
    size_t end = scope.find(' ', i);
    if (end == std::string::npos) end = scope.size();
    if (end > i) {
      const std::string name = scope.substr(i, end - i);
      if (!known_permission(name))
        return refused("scope has an unknown permission \"" + name + "\"");
      ++permissions;
    }
    i = end + 1;
  }
  if (permissions == 0) return refused("scope is missing");
  const std::string mode = has(q, "mode") ? first(q, "mode") : "live";
  if (mode != "live" && mode != "test" && mode != "simulated")
    return refused("mode must be live, test or simulated, got \"" + mode + "\"");
  const std::string prompt = has(q, "approval_prompt") ? first(q, "approval_prompt") : "auto";
  if (prompt != "auto" && prompt != "force")
    return refused("approval_prompt must be auto or force, got \"" + prompt + "\"");
  const std::string single = first(q, "single_select");
  if (!single.empty() && single != "true" && single != "false")
    return refused("single_select must be true or false, got \"" + single + "\"");

  std::erase_if(pending_, [now](const auto& kv) { return kv.second.expires <= now; });
  if (pending_.size() >= kMaxPending)
    return page(503, "Smartcar Connect: busy", "<p>too many pending consents</p>\n");
  const std::string request_id = random_uuid();
  pending_[request_id] =
      Pending{redirect_uri, state, scope, mode, single == "true", now + kRequestTtl};

  // One form per user: the owner "logs in" by submitting the form of their account.
  std::map<std::string, std::vector<const VehicleSpec*>> by_user;
  for (const VehicleSpec& v : fleet.vehicles())
    if (v.mode == mode) by_user[v.user].push_back(&v);
  const char* input = single == "true" ? "radio" : "checkbox";
  std::string html =
      "<p>The application asks for: <span class=\"scope\">" + html_escape(scope) + "</span></p>\n";
  if (by_user.empty()) html += "<p class=\"empty\">No " + html_escape(mode) + " vehicles.</p>\n";
  for (const auto& [user, vehicles] : by_user) {
    html +=
        "<form method=\"post\" action=\"/oauth/authorize/decision\">\n"
        "<input type=\"hidden\" name=\"request\" value=\"" +
        html_escape(request_id) + "\">\n<input type=\"hidden\" name=\"user\" value=\"" +
        html_escape(user) + "\">\n<fieldset><legend>Smartcar user " + html_escape(user) +
        "</legend>\n";
    for (const VehicleSpec* v : vehicles)
      html += std::string("<label><input type=\"") + input + "\" name=\"vehicle\" value=\"" +
              html_escape(v->id) + "\"> " + std::to_string(v->year) + " " + html_escape(v->make) +
              " " + html_escape(v->model) + "</label><br>\n";
    html +=
        "<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n"
        "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n"
        "</fieldset></form>\n";
  }
  return page(200, "Smartcar Connect (mock)", html);
}

Reply ConnectConsent::decide(std::string_view form, Fleet& fleet, TokenLedger& tokens,
                             Clock::time_point now) {
  Params f;
  if (!parse_all(form, f)) return refused("the form is malformed");
  const std::string request_id = first(f, "request");
  auto it = pending_.find(request_id);
  if (it == pending_.end() || it->second.expires <= now)
    return refused("this consent request is unknown, already decided or expired: start again");
  const Pending p = it->second;
  const std::string decision = first(f, "decision");
  if (decision == "deny") {
    pending_.erase(it);
    ++denied_;
    return redirect(with_params(p.redirect_uri, {{"error", "access_denied"},
                                                 {"error_description", "User denied access"},
                                                 {"state", p.state}}));
  }
  if (decision != "approve")
    return refused("decision must be approve or deny, got \"" + decision + "\"");
  Grant grant;
  grant.user = first(f, "user");
  grant.scope = p.scope;
  if (grant.user.empty()) return refused("user is missing");
  for (const auto& [k, v] : f) {
    if (k != "vehicle") continue;
    const VehicleSpec* car = fleet.find(v);
    if (!car || car->user != grant.user || car->mode != p.mode)
      return refused("vehicle \"" + v + "\" is not a " + p.mode + " vehicle of user \"" +
                     grant.user + "\"");
    grant.vehicles.insert(v);
  }
  if (grant.vehicles.empty()) return refused("pick at least one vehicle");
  if (p.single_select && grant.vehicles.size() != 1)
    return refused("single_select: pick exactly one vehicle");
  pending_.erase(it);
  ++approved_;
  const std::string user = grant.user;
  const std::string code = tokens.issue_auth_code(std::move(grant), p.redirect_uri, now);
  return redirect(
      with_params(p.redirect_uri, {{"code", code}, {"state", p.state}, {"user_id", user}}));
}

}  // namespace oemlink::mock_oem::smartcar
