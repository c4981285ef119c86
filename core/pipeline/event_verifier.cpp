#include "core/pipeline/event_verifier.hpp"

#include "core/common/json_member.hpp"

#include <boost/json.hpp>

namespace oemlink::pipeline {

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
  std::optional<std::string_view> data = raw_json_member(line, "data");
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
