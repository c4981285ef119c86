// The oemlink-keyd wire protocol over a Unix stream socket (see README.md, "keyd protocol").
// Every message is a frame: body length (u32 big-endian) || body.
//   request body:  op (u8: 1 = address, 2 = sign) || child (u32 BE) || hash (32 bytes, sign only)
//   response body: status (u8: 0 = ok, 1 = error) || address (20) | signature (65) | error text
// A connection carries any number of request/response pairs, strictly in turn.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secp256k1_signer.hpp"

namespace oemlink::vault::keyd {

inline constexpr size_t kFrameHeaderSize = 4;
// Requests are 5 or 37 bytes; anything bigger is not a client of ours.
inline constexpr uint32_t kMaxRequestBody = 64;
// Error texts are truncated to keep responses small.
inline constexpr uint32_t kMaxResponseBody = 1024;

enum class Op : uint8_t { address = 1, sign = 2 };
enum class Status : uint8_t { ok = 0, error = 1 };

struct Request {
  Op op = Op::address;
  uint32_t child = 0;
  crypto::Hash32 hash{};  // sign only
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
// Parses a request body; nullopt with `why` set when malformed.
std::optional<Request> decode_request(std::span<const uint8_t> body, std::string& why);

// Whole frames (header included).
std::vector<uint8_t> encode_ok(std::span<const uint8_t> payload);
std::vector<uint8_t> encode_error(std::string_view text);

}  // namespace oemlink::vault::keyd
