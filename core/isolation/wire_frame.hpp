// WireFrame: the byte layout of one message on a driver process's channel, and the writer and
// reader that build and take it apart.
//
// A frame is a 24-byte header (payload length, kind, call id, the sender's wall clock) and a
// payload of fields in an agreed order. Both ends are the same build on the same machine, so
// fields travel in host byte order without tags; what guards against a confused or hostile peer
// is that every read is bounds-checked and a short or overlong payload fails the frame.
//
// Threading: a writer or reader is used by one thread at a time.
#pragma once

#include <oemlink/driver.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::isolation {

// The largest payload either side accepts: a webhook body or an HTTP answer fits well below it.
inline constexpr uint32_t kMaxFramePayload = 64u << 20;

struct FrameHeader {
  uint32_t payload_size = 0;
  uint16_t kind = 0;
  uint16_t reserved = 0;
  uint64_t call_id = 0;  // pairs a reply with its request; 0 for one-way messages
  int64_t sender_unix_ms = 0;
};
static_assert(sizeof(FrameHeader) == 24);

class FrameError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FrameWriter {
 public:
  FrameWriter(uint16_t kind, uint64_t call_id);

  FrameWriter& u8(uint8_t v) { return raw(&v, sizeof v); }
  FrameWriter& u32(uint32_t v) { return raw(&v, sizeof v); }
  FrameWriter& i32(int32_t v) { return raw(&v, sizeof v); }
  FrameWriter& u64(uint64_t v) { return raw(&v, sizeof v); }
  FrameWriter& i64(int64_t v) { return raw(&v, sizeof v); }
  FrameWriter& f64(double v) { return raw(&v, sizeof v); }
  FrameWriter& str(std::string_view s);
  FrameWriter& str(oemlink_str s) { return str(std::string_view(s.data ? s.data : "", s.size)); }

  // Overwrites the frame's bytes (one that carried a secret).
  void wipe();
  // The finished frame, its header's length and clock filled in.
  const std::vector<char>& finish(int64_t sender_unix_ms);

 private:
  FrameWriter& raw(const void* p, size_t n);
  std::vector<char> bytes_;
};

class FrameReader {
 public:
  FrameReader(const FrameHeader& header, std::string_view payload)
      : header_(header), rest_(payload) {}

  const FrameHeader& header() const { return header_; }

  uint8_t u8() { return raw<uint8_t>(); }
  uint32_t u32() { return raw<uint32_t>(); }
  int32_t i32() { return raw<int32_t>(); }
  uint64_t u64() { return raw<uint64_t>(); }
  int64_t i64() { return raw<int64_t>(); }
  double f64() { return raw<double>(); }
  // A view into the payload: valid while the frame is.
  std::string_view str();
  oemlink_str view() {
    std::string_view s = str();
    return {s.data(), s.size()};
  }
  // What has not been read yet.
  std::string_view remaining() const { return rest_; }
  // Throws unless every byte was read: a frame of another shape is refused, not half-used.
  void done() const;

 private:
  template <class T>
  T raw() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  void take(void* out, size_t n);
  FrameHeader header_;
  std::string_view rest_;
};

}  // namespace oemlink::isolation
