// The ABI's text (`oemlink_str`: pointer + length, not NUL-terminated) on the host's side.
// The SDK has the same conversions for drivers (oemlink/driver.hpp); the core keeps to the C
// header and uses these.
#pragma once

#include <oemlink/driver.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace oemlink {

// NULL data is the empty text.
inline std::string_view abi_view(oemlink_str s) {
  return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

// Valid while `s`'s storage lives.
inline oemlink_str abi_str(std::string_view s) {
  return oemlink_str{s.data(), s.size()};
}

// Into a caller's NUL-terminated buffer of `cap` bytes (an ABI `err`/`buf` argument), cut to fit;
// nothing is written when there is no buffer.
inline void copy_abi_text(char* out, size_t cap, std::string_view text) {
  if (!out || cap == 0) return;
  const size_t n = std::min(text.size(), cap - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

}  // namespace oemlink
