#include "tools/mock-oem/tesla/consent.hpp"

#include "tools/mock-oem/tesla/form_codec.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace oemlink::mock_oem::tesla {
namespace {

constexpr const char* kIssuer = "https://auth.tesla.com/oauth2/v3";

std::string random_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) out += kHex[c >> 4], out += kHex[c & 15];
  return out;
}

Reply html(unsigned status, std::string body) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers = {{"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

Reply error_page(const std::string& problem) {
  return html(400,
              "<!doctype html><html><head><title>Tesla</title></head><body><h1>Invalid "
              "request</h1><p class=\"error\">" +
                  html_escape(problem) + "</p></body></html>\n");
}

std::string get(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

bool http_url(const std::string& url) {
  const size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  return scheme && url.size() > scheme && url[scheme] != '/' &&
         std::none_of(url.begin(), url.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

// RFC 7636: base64url(SHA-256) is 43 characters; the grammar allows 43..128 unreserved ones.
bool challenge_ok(const std::string& c) {
  return c.size() >= 43 && c.size() <= 128 && std::all_of(c.begin(), c.end(), [](char ch) {
           return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ||
                  ch == '_' || ch == '~';
         });
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t sp = text.find(' ');
    if (sp != 0) out.emplace_back(text.substr(0, sp));
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

Reply redirect(const std::string& redirect_uri, const std::string& query) {
  Reply r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"Location",
                redirect_uri + (redirect_uri.find('?') == std::string::npos ? "?" : "&") + query},
               {"Cache-Control", "no-store"}};
  return r;
}

}  // namespace

Consent::Consent(std::string client_id, std::vector<std::string> accounts, TokenAuthority& tokens,
                 const Fleet& fleet)
    : client_id_(std::move(client_id)),
      accounts_(std::move(accounts)),
      tokens_(tokens),
      fleet_(fleet) {}

Reply Consent::authorize(const std::map<std::string, std::string>& q) {
  if (get(q, "response_type") != "code") return error_page("response_type must be code");
  if (get(q, "client_id") != client_id_) return error_page("unknown client_id");
  Pending p;
  p.redirect_uri = get(q, "redirect_uri");
  if (!http_url(p.redirect_uri)) return error_page("redirect_uri must be an http(s) URL");
  p.state = get(q, "state");
  if (p.state.empty()) return error_page("state is required");
  p.scopes = split_scopes(get(q, "scope"));
  if (p.scopes.empty()) return error_page("scope is required");
  const std::string method = get(q, "code_challenge_method");
  p.code_challenge = get(q, "code_challenge");
  if (!p.code_challenge.empty() || !method.empty()) {
    if (method != "S256")
      return error_page("code_challenge_method " +
                        (method.empty() ? "plain (the default)" : method) +
                        " is not supported: use S256");
    if (!challenge_ok(p.code_challenge))
      return error_page("code_challenge must be base64url(SHA-256(code_verifier))");
  }
  p.created = Clock::now();
  const std::string id = random_id();
  std::string body;
  {
    std::lock_guard lock(mu_);
    std::erase_if(pending_,
                  [&](const auto& e) { return p.created - e.second.created > kRequestLifetime; });
    if (pending_.size() >= kMaxPending) return error_page("too many consent requests in progress");
    body = page(id, p);
    pending_[id] = std::move(p);
  }
  return html(200, std::move(body));
}

std::string Consent::page(const std::string& id, const Pending& p) const {
  std::string scopes, accounts, cars;
  for (const auto& s : p.scopes) scopes += "<li>" + html_escape(s) + "</li>";
  for (const auto& name : accounts_) {
    accounts += "<option value=\"" + html_escape(name) + "\">" + html_escape(name) + "</option>";
    cars += "<li class=\"account\" data-account=\"" + html_escape(name) + "\">" +
            html_escape(name) + "<ul>";
    for (const CarRecord* car : fleet_.cars_of(name))
      cars += "<li class=\"vehicle\" data-vin=\"" + html_escape(car->vin) + "\">" +
              html_escape(car->display_name) + " (" + html_escape(car->vin) + ")</li>";
    cars += "</ul></li>";
  }
  const std::string request = "<input type=\"hidden\" name=\"request\" value=\"" + id + "\">";
  return "<!doctype html><html><head><title>Tesla - Allow access</title></head><body>"
         "<h1>Allow " +
         html_escape(client_id_) + " to access your Tesla account</h1><ul class=\"scopes\">" +
         scopes + "</ul><ul class=\"vehicles\">" + cars +
         "</ul><form method=\"post\" action=\"/oauth2/v3/authorize/decision\">" + request +
         "<input type=\"hidden\" name=\"decision\" value=\"approve\"><select name=\"account\">" +
         accounts +
         "</select><button type=\"submit\">Allow</button></form>"
         "<form method=\"post\" action=\"/oauth2/v3/authorize/decision\">" +
         request +
         "<input type=\"hidden\" name=\"decision\" value=\"deny\"><button "
         "type=\"submit\">Deny</button></form></body></html>\n";
}

Reply Consent::decide(const std::map<std::string, std::string>& form) {
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(get(form, "request"));
    if (it == pending_.end() || Clock::now() - it->second.created > kRequestLifetime)
      return error_page("unknown, expired or already decided consent request");
    p = std::move(it->second);
    pending_.erase(it);
  }
  const std::string decision = get(form, "decision");
  const std::string state = "state=" + percent_encode(p.state);
  if (decision == "deny")
    return redirect(p.redirect_uri,
                    "error=access_denied&error_description=" +
                        percent_encode("The user denied access to the application") + "&" + state +
                        "&issuer=" + percent_encode(kIssuer));
  if (decision != "approve") return error_page("decision must be approve or deny");
  std::string account = get(form, "account");
  if (account.empty() && !accounts_.empty()) account = accounts_.front();
  if (std::find(accounts_.begin(), accounts_.end(), account) == accounts_.end())
    return error_page("no such account: " + account);
  AuthCodeGrant grant;
  grant.account = account;
  grant.redirect_uri = p.redirect_uri;
  grant.code_challenge = p.code_challenge;
  grant.scopes = p.scopes;
  const std::string code = tokens_.issue_auth_code(std::move(grant));
  return redirect(p.redirect_uri, "code=" + percent_encode(code) + "&" + state +
                                      "&issuer=" + percent_encode(kIssuer));
}

}  // namespace oemlink::mock_oem::tesla
