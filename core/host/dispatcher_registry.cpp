#include "core/host/poll_tickets.hpp"

#include <array>
#include <atomic>
#include <stdexcept>

namespace oemlink::host {
namespace {
// Slot 0 is never used, so an encoded ticket is never a NULL pointer.
std::array<std::atomic<PollDispatcher*>, 256> g_dispatchers{};
}  // namespace

uint8_t register_dispatcher(PollDispatcher* d) {
  for (size_t i = 1; i < g_dispatchers.size(); ++i) {
    PollDispatcher* expected = nullptr;
    if (g_dispatchers[i].compare_exchange_strong(expected, d)) return static_cast<uint8_t>(i);
  }
  throw std::runtime_error("too many oemlink poll dispatchers in one process (255)");
}

void unregister_dispatcher(uint8_t slot) {
  g_dispatchers[slot].store(nullptr);
}

PollDispatcher* dispatcher_at(uint8_t slot) {
  return slot ? g_dispatchers[slot].load() : nullptr;
}

}  // namespace oemlink::host
