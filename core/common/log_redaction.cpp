#include "core/common/log_redaction.hpp"

#include <array>
#include <cctype>

namespace oemlink {
namespace {

// Keys whose value is a secret, matched case-insensitively as a whole word ('_' and '-' are
// part of a word, so `vehicle_token_id` is not `token`).
constexpr std::array<std::string_view, 16> kSecretKeys = {
    "access_token", "refresh_token", "id_token",      "token",    "client_secret", "secret",
    "password",     "passwd",        "api_key",       "apikey",   "code_verifier", "private_key",
    "admin_token",  "amt",           "authorization", "x-api-key"};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequal_at(std::string_view s, size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (lower(s[at + i]) != word[i]) return false;
  return true;
}

// Characters a credential is made of (base64, base64url, hex, JWT dots, URL-encoding).
bool credential_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '~' || c == '+' || c == '/' || c == '=' || c == '%';
}

// Where a bare (unquoted) value ends.
bool value_end(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '&' ||
         c == ',' || c == ';' || c == '}' || c == ')' || c == ']';
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// Whether the word after `Bearer`/`Basic` is a credential rather than prose ("basic checks"):
// tokens carry digits or punctuation, or are long.
bool looks_like_credential(std::string_view w) {
  if (w.size() >= 20) return true;
  if (w.size() < 6) return false;
  for (char c : w)
    if (!std::isalpha(static_cast<unsigned char>(c))) return true;
  return false;
}

// Where the credential of `Bearer x`/`Basic x` starts (`i` is just after the scheme word), or
// npos when what follows is not one.
size_t credential_after_scheme(std::string_view s, size_t i) {
  size_t v = skip_spaces(s, i);
  if (v == i) return std::string_view::npos;
  size_t end = v;
  while (end < s.size() && credential_char(s[end])) ++end;
  return looks_like_credential(s.substr(v, end - v)) ? v : std::string_view::npos;
}

class Redactor {
 public:
  explicit Redactor(std::string_view s) : s_(s) {}

  std::string run() {
    size_t i = 0;
    while (i < s_.size()) {
      if (size_t next = try_scheme(i); next != i) {
        i = next;
        continue;
      }
      if (size_t next = try_key(i); next != i) {
        i = next;
        continue;
      }
      if (size_t next = try_jwt(i); next != i) {
        i = next;
        continue;
      }
      out_ += s_[i++];
    }
    return std::move(out_);
  }

 private:
  bool word_starts(size_t i) const { return i == 0 || !word_char(s_[i - 1]); }

  // `Bearer <credential>` / `Basic <credential>`: the scheme kept, the credential masked.
  size_t try_scheme(size_t i) {
    if (!word_starts(i)) return i;
    for (std::string_view scheme : {std::string_view("bearer"), std::string_view("basic")}) {
      if (!iequal_at(s_, i, scheme)) continue;
      size_t end = i + scheme.size();
      size_t v = credential_after_scheme(s_, end);
      if (v == std::string_view::npos) continue;
      out_.append(s_.substr(i, v - i));
      out_ += kRedacted;
      while (v < s_.size() && credential_char(s_[v])) ++v;
      return v;
    }
    return i;
  }

  // `key=value`, `key: value`, `"key":"value"`, `key='value'`.
  size_t try_key(size_t i) {
    if (!word_starts(i)) return i;
    for (std::string_view key : kSecretKeys) {
      if (!iequal_at(s_, i, key)) continue;
      size_t k = i + key.size();
      if (k < s_.size() && word_char(s_[k])) continue;  // a longer word
      size_t p = k;
      if (p < s_.size() && (s_[p] == '"' || s_[p] == '\'')) ++p;
      p = skip_spaces(s_, p);
      if (p >= s_.size() || (s_[p] != '=' && s_[p] != ':')) continue;
      p = skip_spaces(s_, p + 1);
      char quote = 0;
      if (p < s_.size() && (s_[p] == '"' || s_[p] == '\'')) quote = s_[p++];
      // An Authorization header's scheme stays; try_scheme masks its credential.
      if (iequal_at(s_, p, "bearer") || iequal_at(s_, p, "basic")) {
        out_.append(s_.substr(i, p - i));
        return p;
      }
      size_t v = p;
      if (quote) {
        while (v < s_.size() && s_[v] != quote) v += (s_[v] == '\\' && v + 1 < s_.size()) ? 2 : 1;
      } else {
        while (v < s_.size() && !value_end(s_[v])) ++v;
      }
      if (v == p) continue;  // nothing to mask
      out_.append(s_.substr(i, p - i));
      out_ += kRedacted;
      return v;
    }
    return i;
  }

  // header.payload.signature, base64url, the header starting `eyJ` ({"...).
  size_t try_jwt(size_t i) {
    if (!word_starts(i) || !iequal_at(s_, i, "eyj") || s_[i] != 'e' || s_[i + 2] != 'J') return i;
    size_t v = i, dots = 0;
    while (v < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[v])) || s_[v] == '-' ||
                             s_[v] == '_' || s_[v] == '.')) {
      if (s_[v] == '.') ++dots;
      ++v;
    }
    if (dots < 2 || v - i < 16) return i;
    out_ += kRedacted;
    return v;
  }

  std::string_view s_;
  std::string out_;
};

}  // namespace

std::string redact_secrets(std::string_view msg) {
  return Redactor(msg).run();
}

}  // namespace oemlink
