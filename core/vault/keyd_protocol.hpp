// The oemlink-keyd wire protocol over a Unix stream socket (see README.md, "keyd protocol").
// Every message is a frame: body length (u32 big-endian) || body.
//   request body:  op (u8) || ...
//     1 address: child (u32 BE)                     2 sign: child (u32 BE) || hash (32 bytes)
//     3 claim:   count (u32 BE) || count × (child (u32 BE) || id length (u16 BE) || id)
//     4 retire:  child (u32 BE)
//     5 claim next: id length (u16 BE) || id      (keyd picks the child; older keyds: unknown op)
//   response body: status (u8: 0 = ok, 1 = error) || payload
//     address: 20 bytes; sign: 65 bytes; retire: empty; claim next: child (u32 BE);
//     claim: refused count (u32 BE) || refused × (index (u32 BE) || length (u16 BE) || reason)
//     error: UTF-8 text
// A connection carries any number of request/response pairs, strictly in turn.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto/secp256k1_signer.hpp"

namespace oemlink::vault::keyd {

inline constexpr size_t kFrameHeaderSize = 4;
// A claim batch is the only large request (kMaxClaimsPerRequest entries); nothing bigger is a
// client of ours.
inline constexpr uint32_t kMaxRequestBody = 8u << 20;
// Answers to address/sign/retire and error texts stay small; a claim answer may list a reason
// per refused claim (each at most kMaxReasonBytes).
inline constexpr uint32_t kMaxResponseBody = 1024;
inline constexpr uint32_t kMaxClaimResponseBody = 8u << 20;
inline constexpr size_t kMaxClaimsPerRequest = 16'384;
inline constexpr size_t kMaxConnectionIdBytes = 1024;
inline constexpr size_t kMaxReasonBytes = 400;

enum class Op : uint8_t { address = 1, sign = 2, claim = 3, retire = 4, claim_next = 5 };
enum class Status : uint8_t { ok = 0, error = 1 };

struct Request {
  Op op = Op::address;
  uint32_t child = 0;                                    // address, sign, retire
  crypto::Hash32 hash{};                                 // sign only
  std::vector<std::pair<uint32_t, std::string>> claims;  // claim only
  std::string connection_id;                             // claim_next only
};

inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// A whole frame (header included) for `req`.
std::vector<uint8_t> encode_request(const Request& req);
// A whole claim frame for claims[begin, end) (no copy of the ids into a Request).
std::vector<uint8_t> encode_claim_request(
    std::span<const std::pair<uint32_t, std::string_view>> claims);
// What an older keyd answers (status 1) to an op it does not know, e.g. "unknown op 5".
inline constexpr std::string_view kUnknownOpPrefix = "unknown op";

// Parses a request body; nullopt with `why` set when malformed.
std::optional<Request> decode_request(std::span<const uint8_t> body, std::string& why);

// Whole frames (header included).
std::vector<uint8_t> encode_ok(std::span<const uint8_t> payload);
std::vector<uint8_t> encode_error(std::string_view text);
std::vector<uint8_t> encode_claim_answer(
    const std::vector<std::pair<size_t, std::string>>& refused);
// Parses a claim answer's payload (after the status byte); nullopt when malformed.
std::optional<std::vector<std::pair<size_t, std::string>>> decode_claim_answer(
    std::span<const uint8_t> payload);

}  // namespace oemlink::vault::keyd
