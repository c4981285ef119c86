// The one way to erase secrets (keys, KEK text, plaintexts) in core and tools: OPENSSL_cleanse,
// which the compiler may not optimise away as it may a plain memset before free.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>

namespace oemlink {

// Overwrites `n` bytes at `p` with zeros. `p` may be null only when `n` is 0.
void secure_wipe(void* p, size_t n) noexcept;

// Wipes the whole of a contiguous container of trivially copyable elements (std::array,
// std::string, std::vector, a C array).
template <typename Range>
requires std::is_trivially_copyable_v<
    std::remove_cvref_t<decltype(*std::data(std::declval<Range&>()))>>
void secure_wipe(Range& r) noexcept {
  secure_wipe(std::data(r), std::size(r) * sizeof(*std::data(r)));
}

}  // namespace oemlink
