// A 256-bit symmetric key: the KEK, and the data keys sealed under it (outbox, secret store).
#pragma once

#include <array>
#include <cstdint>

namespace oemlink {

using DataKey = std::array<uint8_t, 32>;

}  // namespace oemlink
