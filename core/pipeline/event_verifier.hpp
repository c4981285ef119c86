// Verifies signed events as a recipient would: from the exact bytes of `data` as they appear in
// the line (never a re-serialization), Keccak-256, then secp256k1 public-key recovery.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace oemlink::pipeline {

struct VerifyResult {
  bool ok = false;
  std::string id;        // the event's id when readable
  std::string producer;  // the event's producer DID when readable
  std::string reason;    // why not ok
  std::optional<crypto::Address20> signer;
};

// Checks one JSON Lines record: valid JSON object, a `data` member, a well-formed `signature`
// (0x + 130 hex, v 27/28, low s) that recovers to an address. Which address it should be is the
// caller's question (see `oemlink verify --keys`).
VerifyResult verify_event_line(std::string_view line);

}  // namespace oemlink::pipeline
