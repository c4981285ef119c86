#include "core/pipeline/event_verifier.hpp"

#include <boost/json.hpp>

namespace oemlink::pipeline {
namespace {

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// Index just past the string starting at s[i] == '"', or npos.
size_t skip_string(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at s[i], or npos. Strings are skipped as units, so
// brackets inside them do not count.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\r' && s[i] != '\t')
    ++i;
  return i;
}

}  // namespace

std::optional<std::string_view> raw_member(std::string_view json, std::string_view key) {
  size_t i = skip_ws(json, 0);
  if (i >= json.size() || json[i] != '{') return std::nullopt;
  i = skip_ws(json, i + 1);
  while (i < json.size() && json[i] == '"') {
    size_t key_end = skip_string(json, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    std::string_view k = json.substr(i + 1, key_end - i - 2);
    i = skip_ws(json, key_end);
    if (i >= json.size() || json[i] != ':') return std::nullopt;
    i = skip_ws(json, i + 1);
    size_t value_end = skip_value(json, i);
    if (value_end == std::string_view::npos) return std::nullopt;
    if (k == key) return json.substr(i, value_end - i);
    i = skip_ws(json, value_end);
    if (i < json.size() && json[i] == ',') i = skip_ws(json, i + 1);
  }
  return std::nullopt;
}

VerifyResult verify_event_line(std::string_view line) {
  VerifyResult r;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    r.reason = "not a JSON object" + (ec ? ": " + ec.message() : std::string());
    return r;
  }
  const auto& obj = v.as_object();
  if (auto* id = obj.if_contains("id"); id && id->is_string()) r.id = id->as_string();
  if (auto* p = obj.if_contains("producer"); p && p->is_string()) r.producer = p->as_string();
  auto* sig_value = obj.if_contains("signature");
  if (!sig_value || !sig_value->is_string()) {
    r.reason = "no signature";
    return r;
  }
  std::optional<std::string_view> data = raw_member(line, "data");
  if (!data) {
    r.reason = "no data member";
    return r;
  }
  std::optional<crypto::Signature65> sig =
      crypto::parse_signature_hex(std::string_view(sig_value->as_string()));
  if (!sig) {
    r.reason = "signature is not 0x + 130 hex characters";
    return r;
  }
  r.signer = crypto::recover_address(crypto::keccak256(*data), *sig);
  if (!r.signer) {
    r.reason = "signature does not recover (bad v, high s, or r/s out of range)";
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace oemlink::pipeline
