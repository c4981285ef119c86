#include "core/vault/keyd_protocol.hpp"

#include <algorithm>

namespace oemlink::vault::keyd {
namespace {

std::vector<uint8_t> frame(uint8_t first, std::span<const uint8_t> rest) {
  std::vector<uint8_t> out(kFrameHeaderSize + 1 + rest.size());
  put_u32(out.data(), static_cast<uint32_t>(1 + rest.size()));
  out[kFrameHeaderSize] = first;
  std::copy(rest.begin(), rest.end(), out.begin() + kFrameHeaderSize + 1);
  return out;
}

void append_u32(std::vector<uint8_t>& out, uint32_t v) {
  out.resize(out.size() + 4);
  put_u32(out.data() + out.size() - 4, v);
}

void append_text(std::vector<uint8_t>& out, std::string_view text) {
  out.push_back(static_cast<uint8_t>(text.size() >> 8));
  out.push_back(static_cast<uint8_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

// Reads the fields of a body in order; any read past the end marks it malformed.
struct Cursor {
  std::span<const uint8_t> b;
  size_t at = 0;
  bool ok = true;
  uint32_t u32() {
    if (b.size() - at < 4) return fail<uint32_t>();
    const uint32_t v = get_u32(b.data() + at);
    at += 4;
    return v;
  }
  std::string text() {
    if (b.size() - at < 2) return fail<std::string>();
    const size_t len = size_t{b[at]} << 8 | b[at + 1];
    at += 2;
    if (b.size() - at < len) return fail<std::string>();
    std::string s(reinterpret_cast<const char*>(b.data() + at), len);
    at += len;
    return s;
  }
  template <class T>
  T fail() {
    ok = false;
    at = b.size();
    return T{};
  }
};

std::optional<Request> decode_claims(std::span<const uint8_t> body, std::string& why) {
  Cursor c{body, 1};
  const uint32_t count = c.u32();
  if (c.ok && count > kMaxClaimsPerRequest) {
    why = "a claim request holds at most " + std::to_string(kMaxClaimsPerRequest) +
          " claims, got " + std::to_string(count);
    return std::nullopt;
  }
  Request req;
  req.op = Op::claim;
  req.claims.reserve(count);
  for (uint32_t i = 0; c.ok && i < count; ++i) {
    const uint32_t child = c.u32();
    std::string id = c.text();
    req.claims.emplace_back(child, std::move(id));
  }
  if (!c.ok || c.at != body.size()) {
    why = "malformed claim request";
    return std::nullopt;
  }
  return req;
}

}  // namespace

std::vector<uint8_t> encode_request(const Request& req) {
  if (req.op == Op::claim) {
    std::vector<std::pair<uint32_t, std::string_view>> views(req.claims.begin(), req.claims.end());
    return encode_claim_request(views);
  }
  if (req.op == Op::claim_next) {
    std::vector<uint8_t> rest;
    append_text(rest, std::string_view(req.connection_id).substr(0, kMaxConnectionIdBytes));
    return frame(static_cast<uint8_t>(Op::claim_next), rest);
  }
  std::vector<uint8_t> rest(4);
  put_u32(rest.data(), req.child);
  if (req.op == Op::sign) rest.insert(rest.end(), req.hash.begin(), req.hash.end());
  return frame(static_cast<uint8_t>(req.op), rest);
}

std::vector<uint8_t> encode_claim_request(
    std::span<const std::pair<uint32_t, std::string_view>> claims) {
  std::vector<uint8_t> rest;
  append_u32(rest, static_cast<uint32_t>(claims.size()));
  for (const auto& [child, id] : claims) {
    append_u32(rest, child);
    append_text(rest, id.substr(0, kMaxConnectionIdBytes));
  }
  return frame(static_cast<uint8_t>(Op::claim), rest);
}

std::optional<Request> decode_request(std::span<const uint8_t> body, std::string& why) {
  if (body.empty()) {
    why = "empty request";
    return std::nullopt;
  }
  Request req;
  switch (body[0]) {
    case static_cast<uint8_t>(Op::address):
    case static_cast<uint8_t>(Op::retire):
      if (body.size() != 5) {
        why = "an address or retire request is 5 bytes, got " + std::to_string(body.size());
        return std::nullopt;
      }
      req.op = static_cast<Op>(body[0]);
      break;
    case static_cast<uint8_t>(Op::sign):
      if (body.size() != 37) {
        why = "a sign request is 37 bytes, got " + std::to_string(body.size());
        return std::nullopt;
      }
      req.op = Op::sign;
      std::copy_n(body.begin() + 5, 32, req.hash.begin());
      break;
    case static_cast<uint8_t>(Op::claim):
      return decode_claims(body, why);
    case static_cast<uint8_t>(Op::claim_next): {
      Cursor c{body, 1};
      req.op = Op::claim_next;
      req.connection_id = c.text();
      if (!c.ok || c.at != body.size() || req.connection_id.empty() ||
          req.connection_id.size() > kMaxConnectionIdBytes) {
        why = "malformed claim-next request";
        return std::nullopt;
      }
      return req;
    }
    default:
      why = std::string(kUnknownOpPrefix) + " " + std::to_string(body[0]);
      return std::nullopt;
  }
  req.child = get_u32(body.data() + 1);
  return req;
}

std::vector<uint8_t> encode_ok(std::span<const uint8_t> payload) {
  return frame(static_cast<uint8_t>(Status::ok), payload);
}

std::vector<uint8_t> encode_error(std::string_view text) {
  text = text.substr(0, kMaxResponseBody - 1);
  return frame(static_cast<uint8_t>(Status::error),
               {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::vector<uint8_t> encode_claim_answer(
    const std::vector<std::pair<size_t, std::string>>& refused) {
  std::vector<uint8_t> rest;
  append_u32(rest, static_cast<uint32_t>(refused.size()));
  for (const auto& [index, reason] : refused) {
    append_u32(rest, static_cast<uint32_t>(index));
    append_text(rest, std::string_view(reason).substr(0, kMaxReasonBytes));
  }
  return encode_ok(rest);
}

std::optional<std::vector<std::pair<size_t, std::string>>> decode_claim_answer(
    std::span<const uint8_t> payload) {
  Cursor c{payload};
  const uint32_t count = c.u32();
  std::vector<std::pair<size_t, std::string>> refused;
  for (uint32_t i = 0; c.ok && i < count; ++i) {
    const uint32_t index = c.u32();
    std::string reason = c.text();
    refused.emplace_back(index, std::move(reason));
  }
  if (!c.ok || c.at != payload.size()) return std::nullopt;
  return refused;
}

}  // namespace oemlink::vault::keyd
