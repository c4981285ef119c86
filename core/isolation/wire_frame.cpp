#include "core/isolation/wire_frame.hpp"

#include "core/common/secure_wipe.hpp"

namespace oemlink::isolation {

FrameWriter::FrameWriter(uint16_t kind, uint64_t call_id) {
  bytes_.reserve(256);
  FrameHeader h;
  h.kind = kind;
  h.call_id = call_id;
  raw(&h, sizeof h);
}

FrameWriter& FrameWriter::raw(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  bytes_.insert(bytes_.end(), c, c + n);
  return *this;
}

FrameWriter& FrameWriter::str(std::string_view s) {
  if (s.size() > kMaxFramePayload) throw FrameError("a field is larger than a frame may be");
  u32(static_cast<uint32_t>(s.size()));
  return raw(s.data(), s.size());
}

const std::vector<char>& FrameWriter::finish(int64_t sender_unix_ms) {
  size_t payload = bytes_.size() - sizeof(FrameHeader);
  if (payload > kMaxFramePayload)
    throw FrameError("frame payload of " + std::to_string(payload) +
                     " bytes exceeds the channel's limit");
  FrameHeader h;
  std::memcpy(&h, bytes_.data(), sizeof h);
  h.payload_size = static_cast<uint32_t>(payload);
  h.sender_unix_ms = sender_unix_ms;
  std::memcpy(bytes_.data(), &h, sizeof h);
  return bytes_;
}

void FrameWriter::wipe() {
  oemlink::secure_wipe(bytes_.data(), bytes_.size());
}

std::string_view FrameReader::str() {
  uint32_t n = u32();
  if (n > rest_.size()) throw FrameError("frame field runs past the end of its frame");
  std::string_view s = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return s;
}

void FrameReader::take(void* out, size_t n) {
  if (n > rest_.size()) throw FrameError("frame is shorter than its kind requires");
  std::memcpy(out, rest_.data(), n);
  rest_.remove_prefix(n);
}

void FrameReader::done() const {
  if (!rest_.empty())
    throw FrameError("frame has " + std::to_string(rest_.size()) + " bytes more than its kind");
}

}  // namespace oemlink::isolation
