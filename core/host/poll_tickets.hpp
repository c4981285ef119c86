// Completion contexts for driver calls that finish later (poll done, stream ended).
//
// The C ABI hands back one opaque pointer; it must lead to the runtime, the connection and the
// attempt it belongs to, so that a late or duplicate completion from a buggy driver is
// recognised and ignored. Tickets come from a free-list pool so 20k polls/s cost no heap
// allocation; only as many exist as calls are in flight.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace oemlink::host {

class Runtime;

struct Ticket {
  Runtime* runtime = nullptr;
  uint32_t conn = 0;      // connection index; UINT32_MAX for a driver-wide stream
  uint32_t instance = 0;  // driver instance index
  uint16_t seq = 0;       // the connection's poll_seq when issued
  bool stream = false;
  bool live = false;
  bool abandoned = false;  // the watchdog gave up on it; a late completion only releases it
  int64_t started_ms = 0;
  uint32_t next_free = 0;  // free-list link (index + 1; 0 = end)
  uint32_t self = 0;       // own index + 1
};

// Not thread-safe: acquire/release on the host loop thread. Drivers may read a ticket's fields
// from another thread between acquire and release, which the pool never moves: tickets live in
// fixed-size chunks.
class TicketPool {
 public:
  Ticket* acquire() {
    if (free_head_ == 0) grow();
    uint32_t i = free_head_ - 1;
    Ticket* t = at(i);
    free_head_ = t->next_free;
    t->live = true;
    t->abandoned = false;
    ++live_;
    return t;
  }
  void release(Ticket* t) {
    t->live = false;
    t->next_free = free_head_;
    free_head_ = t->self;
    --live_;
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

}  // namespace oemlink::host
