#include "core/host/poll_tickets.hpp"

#include <array>
#include <atomic>
#include <stdexcept>

namespace oemlink::host {
namespace {
// Slot 0 is never used, so an encoded ticket is never a NULL pointer.
std::array<std::atomic<Runtime*>, 256> g_runtimes{};
}  // namespace

uint8_t register_runtime(Runtime* rt) {
  for (size_t i = 1; i < g_runtimes.size(); ++i) {
    Runtime* expected = nullptr;
    if (g_runtimes[i].compare_exchange_strong(expected, rt)) return static_cast<uint8_t>(i);
  }
  throw std::runtime_error("too many oemlink runtimes in one process (255)");
}

void unregister_runtime(uint8_t slot) {
  g_runtimes[slot].store(nullptr);
}

Runtime* runtime_at(uint8_t slot) {
  return slot ? g_runtimes[slot].load() : nullptr;
}

}  // namespace oemlink::host
