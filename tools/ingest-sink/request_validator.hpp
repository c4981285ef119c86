// DIS's acceptance rules for one CloudEvent body (dimo-wire.md sections 1, 2 and 5), applied the
// way the ingest node would: a body that breaks one is answered 400 with a one-line reason.
#pragma once

#include "core/crypto/secp256k1_signer.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::ingest_sink {

using EventTime = std::chrono::sys_time<std::chrono::nanoseconds>;

// Parses an RFC 3339 date-time ("2025-03-04T12:01:00Z", "...:00.123+02:00"); nullopt when it is
// not one (DIS decodes `time` with Go's RFC 3339 parser).
std::optional<EventTime> parse_rfc3339(std::string_view text);

// Who may sign what, from --expect-addresses: either producer DID -> address (each producer's
// events must be signed by its own key) or a bare set of addresses (any of them will do).
struct ExpectedSigners {
  std::map<std::string, crypto::Address20, std::less<>> by_producer;
  std::vector<crypto::Address20> any_of;
  bool by_producer_mode = false;

  // Reads a JSON file: {"did:erc721:...": "0x...", ...} or ["0x...", ...]. Throws
  // std::runtime_error naming the file and the bad entry.
  static ExpectedSigners load(const std::string& path);
};

struct ValidatorOptions {
  std::optional<ExpectedSigners> expected;  // set: the signature must recover to the right address
  bool require_signature = false;           // without `expected`: a signature must still recover
  std::chrono::nanoseconds max_future = std::chrono::minutes(5);
};

struct AcceptedEvent {
  std::string subject;
  std::string source;
  EventTime time;
};

struct Verdict {
  std::optional<AcceptedEvent> event;  // set when accepted
  std::string reason;                  // why not, one line
};

class RequestValidator {
 public:
  explicit RequestValidator(ValidatorOptions options) : options_(std::move(options)) {}

  Verdict check(std::string_view body, EventTime now) const;

 private:
  ValidatorOptions options_;
};

}  // namespace oemlink::ingest_sink
