#include "mock_linker.hpp"

#include "prng.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <stdexcept>

namespace oemlink::mock {
namespace {

// A test double's memory: an abandoned consent is forgotten past this many.
constexpr size_t kMaxRemembered = 100'000;

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The (undecoded) value of `name` in a query string; states and codes are URL-safe already.
std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string base64url(const unsigned char* d, size_t n) {
  static constexpr char kA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t{d[i]} << 16;
    if (i + 1 < n) v |= uint32_t{d[i + 1]} << 8;
    if (i + 2 < n) v |= d[i + 2];
    out += kA[(v >> 18) & 63];
    out += kA[(v >> 12) & 63];
    if (i + 1 < n) out += kA[(v >> 6) & 63];
    if (i + 2 < n) out += kA[v & 63];
  }
  return out;
}

std::string s256(std::string_view verifier) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), d);
  return base64url(d, sizeof d);
}

struct Account {
  uint32_t cars = 0;
  std::string tag;  // "" or the "<tag>" of "ok-<n>-<tag>"
};

std::optional<Account> parse_code(std::string_view code) {
  if (!code.starts_with("ok-")) return std::nullopt;
  code.remove_prefix(3);
  Account a;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), a.cars);
  if (ec != std::errc() || a.cars < 1 || a.cars > 50) return std::nullopt;
  std::string_view rest(end, code.data() + code.size() - end);
  if (!rest.empty()) {
    if (rest.size() < 2 || rest[0] != '-') return std::nullopt;
    for (char c : rest.substr(1))
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return std::nullopt;
    a.tag = std::string(rest.substr(1));
  }
  return a;
}

}  // namespace

std::string MockLinker::authorize_url(const LinkAuthorize& r) {
  {
    std::lock_guard lock(mu_);
    if (consents_.size() >= kMaxRemembered) consents_.clear();
    consents_[r.state] = Consent{r.code_challenge, r.redirect_uri};
  }
  std::string url = authorize_base_ + "?response_type=code&client_id=mock&redirect_uri=" +
                    url_encode(r.redirect_uri) + "&state=" + url_encode(r.state) +
                    "&code_challenge=" + url_encode(r.code_challenge) +
                    "&code_challenge_method=S256";
  if (!r.vehicle_id.empty()) url += "&vehicle_id=" + url_encode(r.vehicle_id);
  return url;
}

void MockLinker::exchange_code(const LinkCallback& cb,
                               std::function<void(LinkExchangeResult)> done) {
  LinkExchangeResult r;
  r.status = OEMLINK_ERROR;
  std::optional<Consent> consent;
  {
    std::lock_guard lock(mu_);
    auto it = consents_.find(query_value(cb.query, "state"));
    if (it != consents_.end()) {
      consent = std::move(it->second);
      consents_.erase(it);
    }
  }
  std::optional<Account> account = parse_code(cb.code);
  if (cb.code == "bad") {
    r.message = "authorization code expired";
  } else if (!account) {
    r.message = "mock: unknown authorization code";
  } else if (!consent) {
    r.message = "mock: no consent was requested with this state";
  } else if (consent->redirect_uri != cb.redirect_uri) {
    r.message = "mock: redirect_uri differs from the one in the authorize request";
  } else if (cb.code_verifier.empty() || s256(cb.code_verifier) != consent->challenge) {
    r.message = "mock: the PKCE code_verifier does not match the code_challenge";
  } else {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("mock: RAND_bytes failed");
    std::string token = "mock-at-" + base64url(bytes, sizeof bytes);
    {
      std::lock_guard lock(mu_);
      if (codes_.size() >= kMaxRemembered) codes_.clear();
      codes_[token] = cb.code;
    }
    r.status = OEMLINK_OK;
    r.secrets.emplace_back("access_token", std::move(token));
  }
  done(std::move(r));
}

void MockLinker::list_vehicles(const LinkSecrets& secrets,
                               std::function<void(LinkVehiclesResult)> done) {
  LinkVehiclesResult r;
  r.status = OEMLINK_ERROR;
  std::string code;
  for (const auto& [k, v] : secrets) {
    if (k != "access_token") continue;
    std::lock_guard lock(mu_);
    if (auto it = codes_.find(v); it != codes_.end()) code = it->second;
  }
  std::optional<Account> account = parse_code(code);
  if (!account) {
    r.message = "mock: unknown access token";
    done(std::move(r));
    return;
  }
  // VINs: "WMCMK" + 8 digits from the code + the car's 4 digits (only characters VINs allow).
  const uint64_t h = hash_text(code) % 100'000'000;
  for (uint32_t k = 1; k <= account->cars; ++k) {
    LinkVehicle v;
    std::string n = std::to_string(account->cars) + "-" + std::to_string(k);
    v.vehicle_id = account->tag.empty() ? "mock-" + n : "mock-" + account->tag + "-" + n;
    char vin[18];
    std::snprintf(vin, sizeof vin, "WMCMK%08llu%04u", static_cast<unsigned long long>(h), k);
    v.vin = vin;
    v.display_name = "Mock car " + std::to_string(k);
    v.identifiers_json = "{\"mock_vehicle\":\"" + v.vehicle_id + "\"}";
    v.make = "Mock";
    v.model = "Simulator";
    v.year = 2024;
    r.vehicles.push_back(std::move(v));
  }
  r.status = OEMLINK_OK;
  done(std::move(r));
}

}  // namespace oemlink::mock
