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

}  // namespace

std::vector<uint8_t> encode_request(const Request& req) {
  std::vector<uint8_t> rest(4);
  put_u32(rest.data(), req.child);
  if (req.op == Op::sign) rest.insert(rest.end(), req.hash.begin(), req.hash.end());
  return frame(static_cast<uint8_t>(req.op), rest);
}

std::optional<Request> decode_request(std::span<const uint8_t> body, std::string& why) {
  if (body.empty()) {
    why = "empty request";
    return std::nullopt;
  }
  Request req;
  switch (body[0]) {
    case static_cast<uint8_t>(Op::address):
      if (body.size() != 5) {
        why = "an address request is 5 bytes, got " + std::to_string(body.size());
        return std::nullopt;
      }
      req.op = Op::address;
      break;
    case static_cast<uint8_t>(Op::sign):
      if (body.size() != 37) {
        why = "a sign request is 37 bytes, got " + std::to_string(body.size());
        return std::nullopt;
      }
      req.op = Op::sign;
      std::copy_n(body.begin() + 5, 32, req.hash.begin());
      break;
    default:
      why = "unknown op " + std::to_string(body[0]);
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

}  // namespace oemlink::vault::keyd
