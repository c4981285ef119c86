// Completion contexts for driver calls that finish later (poll done, stream ended).
//
// The C ABI hands back one opaque pointer. It encodes (dispatcher slot, ticket index, ticket
// generation) rather than pointing at the ticket, because a ticket is reused as soon as it is
// released: a duplicate or late `done` from a buggy driver must find a generation that no longer
// matches and be ignored, not complete whichever poll holds the ticket now. The dispatcher slot
// lets a completion that arrives after the dispatcher is gone be dropped instead of touching freed
// memory.
//
// Tickets come from a free-list pool so 20k polls/s cost no heap allocation; only as many exist
// as calls are in flight. Not thread-safe: acquire/release/find on the host loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace oemlink::host {

struct Ticket {
  uint32_t conn = 0;      // connection index; UINT32_MAX for a driver-wide stream
  uint32_t instance = 0;  // driver instance index
  uint16_t seq = 0;       // the connection's poll_seq when issued
  bool stream = false;
  bool live = false;
  bool abandoned = false;  // the watchdog gave up on it; a late completion only releases it
  int64_t started_ms = 0;  // host steady clock
  uint32_t generation = 0;
  uint32_t next_free = 0;  // free-list link (index + 1; 0 = end)
  uint32_t self = 0;       // own index + 1
};

struct TicketRef {
  uint8_t dispatcher_slot = 0;
  uint32_t index = 0;
  uint32_t generation = 0;  // low 24 bits
};

inline void* encode_ticket(uint8_t dispatcher_slot, const Ticket& t) {
  uint64_t v = (static_cast<uint64_t>(dispatcher_slot) << 56) |
               (static_cast<uint64_t>(t.generation & 0xFFFFFFu) << 32) | (t.self - 1);
  return reinterpret_cast<void*>(static_cast<uintptr_t>(v));
}

inline TicketRef decode_ticket(const void* ctx) {
  auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ctx));
  return {static_cast<uint8_t>(v >> 56), static_cast<uint32_t>(v & 0xFFFFFFFFu),
          static_cast<uint32_t>((v >> 32) & 0xFFFFFFu)};
}

class TicketPool {
 public:
  Ticket* acquire() {
    if (free_head_ == 0) grow();
    Ticket* t = at(free_head_ - 1);
    free_head_ = t->next_free;
    t->live = true;
    t->abandoned = false;
    ++live_;
    return t;
  }
  void release(Ticket* t) {
    t->live = false;
    t->generation++;  // every outstanding reference to this use is now stale
    t->next_free = free_head_;
    free_head_ = t->self;
    --live_;
  }
  // The live ticket `ref` names, or nullptr when it was released (or reused) since.
  Ticket* find(const TicketRef& ref) {
    if (ref.index >= chunks_.size() * kChunk) return nullptr;
    Ticket* t = at(ref.index);
    if (!t->live || (t->generation & 0xFFFFFFu) != ref.generation) return nullptr;
    return t;
  }
  size_t live() const { return live_; }

  template <class Fn>
  void for_each_live(Fn&& fn) {
    for (auto& chunk : chunks_)
      for (uint32_t k = 0; k < kChunk; ++k)
        if (chunk[k].live) fn(&chunk[k]);
  }

 private:
  static constexpr uint32_t kChunk = 1024;
  Ticket* at(uint32_t i) { return &chunks_[i / kChunk][i % kChunk]; }
  void grow() {
    auto chunk = std::make_unique<Ticket[]>(kChunk);
    uint32_t base = static_cast<uint32_t>(chunks_.size()) * kChunk;
    for (uint32_t k = 0; k < kChunk; ++k) {
      chunk[k].self = base + k + 1;
      chunk[k].next_free = k + 1 < kChunk ? base + k + 2 : free_head_;
    }
    free_head_ = base + 1;
    chunks_.push_back(std::move(chunk));
  }
  std::vector<std::unique_ptr<Ticket[]>> chunks_;
  uint32_t free_head_ = 0;
  size_t live_ = 0;
};

// Dispatchers a completion can be routed to, by slot. A slot is cleared before its dispatcher is
// destroyed, so a driver thread completing late finds nothing and drops the completion.
class PollDispatcher;
uint8_t register_dispatcher(PollDispatcher* d);  // throws std::runtime_error when all 255 are taken
void unregister_dispatcher(uint8_t slot);
PollDispatcher* dispatcher_at(uint8_t slot);

}  // namespace oemlink::host
