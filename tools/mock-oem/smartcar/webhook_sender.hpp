// Sends one Smartcar webhook delivery the way Smartcar does (oem-apis.md, "Delivery"): POST with
// SC-Signature = hex HMAC-SHA256(AMT, raw body); any 2xx within the timeout (15 s) ends it;
// otherwise retried after each of the retry delays (25, 50, 100 s), then dropped. The tampering
// modes produce what an attacker or a broken proxy would send.
#pragma once

#include "tools/mock-oem/smartcar/webhook_payload.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oemlink::mock_oem::smartcar {

enum class Tamper { none, forge, truncate };

struct SendOptions {
  std::string url;
  std::string amt;  // the Application Management Token
  Tamper tamper = Tamper::none;
  bool replay = false;  // after a 2xx, deliver the same eventId once more
  std::vector<std::chrono::milliseconds> retry_delays{std::chrono::milliseconds(25'000),
                                                      std::chrono::milliseconds(50'000),
                                                      std::chrono::milliseconds(100'000)};
  std::chrono::milliseconds timeout{15'000};
};

struct Attempt {
  int number = 0;     // 1-based; the replay is numbered after the last attempt
  long status = 0;    // HTTP status; 0 when no answer came
  std::string error;  // "timeout" or the transport error, when status is 0
  double ms = 0;      // request start to answer
  std::string delivery_id;
  std::string response;  // the answer's body, first 4 KiB
};

struct SendOutcome {
  bool delivered = false;
  std::vector<Attempt> attempts;
  std::optional<Attempt> replay;
  std::optional<bool> verify_ok;  // VERIFY only: the answer carried the right challenge
};

// One signed POST; `signature_key` is the AMT (or the wrong key when forging).
Attempt post_once(const std::string& url, const std::string& body, const std::string& signature,
                  std::chrono::milliseconds timeout);

SendOutcome send_delivery(Delivery& delivery, const SendOptions& options,
                          const std::function<void(const Attempt&, bool replay)>& on_attempt);

// The signature header value for a body under the options' tampering mode, and the body that
// is actually sent (truncate alters it after signing).
std::pair<std::string, std::string> sign_for_sending(const std::string& body,
                                                     const SendOptions& options);

}  // namespace oemlink::mock_oem::smartcar
