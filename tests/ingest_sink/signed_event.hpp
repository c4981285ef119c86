// Builds DIMO CloudEvents the way oemlink does: `data` serialized once, those bytes hashed with
// Keccak-256, signed, and embedded unchanged.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <chrono>
#include <string>

namespace oemlink::ingest_sink::testing {

inline constexpr const char* kClientCn = "0xc4035Fecb1cc906130423EF05f9C20977F643722";
inline constexpr const char* kProducer =
    "did:erc721:137:0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D:2001";
inline constexpr const char* kSubject =
    "did:erc721:137:0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF:1001";

struct EventSpec {
  std::string id = "evt-1";
  std::string subject = kSubject;
  std::string producer = kProducer;
  std::string type = "dimo.status";
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::string extra_member;  // raw `"name":value` text added to the header, e.g. to bloat it
};

// RFC 3339 UTC with whole seconds.
std::string rfc3339(std::chrono::system_clock::time_point t);

// A complete signed event body for `spec`, signed with `key`.
std::string signed_event(const crypto::PrivateKey& key, const EventSpec& spec);

crypto::PrivateKey test_key(uint8_t fill);

}  // namespace oemlink::ingest_sink::testing
