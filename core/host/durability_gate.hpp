// DurabilityGate holds a poll's completion until everything that poll emitted is durable.
//
// A poll counts as done (and its connection may poll again, its driver's concurrency slot is
// freed) only once its batches have left the signing stage and the outbox has committed them.
// Until then the completion waits here: that wait is the back-pressure that keeps a slow disk
// from being outrun by drivers. Each connection has at most one poll in flight, so it has at
// most one held completion.
//
// Webhooks wait here too (when_durable): a 2xx to a webhook is held until every batch the signing
// stage had taken when the driver answered is settled and committed. The signing stage settles
// batches in the order it took them (one worker, FIFO), so "settled count >= mark" means every
// batch up to the mark is settled; the highest receipt seen by then bounds what must be durable.
// The mark covers other drivers' batches too: a webhook waits at most for the queue ahead of it.
//
// Connections are added while the daemon runs: the per-connection counters live in
// SegmentedVectors, so a driver thread counting a batch never sees them move; grow_to() makes
// room before a new connection's handle exists.
//
// Threading: batch_submitted/batch_refused on any thread (drivers emit from their own threads);
// everything else on the host loop. No clock and no I/O: unit-tested as a plain class.
#pragma once

#include "core/common/segmented_vector.hpp"

#include <oemlink/driver.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace oemlink::host {

class DurabilityGate {
 public:
  // Called on the loop when a held (or passed-through) completion may be applied.
  using Release = std::function<void(uint32_t conn, oemlink_status, const std::string& message)>;

  // `with_outbox`: events become durable by outbox sequence number (durable_through); without
  // an outbox only the signing stage is waited for. `durable_seq`: what the outbox had
  // committed when it opened.
  DurabilityGate(size_t connections, bool with_outbox, uint64_t durable_seq, Release release);

  // [loop] Room for connections 0..n-1 (never shrinks). Called before a new connection opens.
  void grow_to(size_t connections);
  size_t capacity() const { return signing_.size(); }

  // [any-thread] A batch of connection c went to the signing stage. Counted before the hand-over,
  // so a completion racing the signing stage still waits.
  void batch_submitted(uint32_t c) { signing_[c].fetch_add(1); }
  // [any-thread] ...but the signing stage did not take it.
  void batch_refused(uint32_t c) { signing_[c].fetch_sub(1); }

  // [loop] A batch of c left the signing stage: stored under outbox `receipt`, or rejected (0).
  void batch_settled(uint32_t c, uint64_t receipt);
  // [loop] The outbox has committed everything up to `seq`.
  void durable_through(uint64_t seq);

  // [loop] Completes c's poll: released at once (through Release) when nothing is pending for
  // c, otherwise held until it is.
  void complete(uint32_t c, oemlink_status status, std::string message);

  // [loop] Shutdown: releases every held completion that may go now.
  void release_ready();

  // [loop] Calls `ready` (on the loop, possibly at once) once the first `mark` batches the signing
  // stage took (SigningStage::taken(), read after the emits to cover) are settled and, with an
  // outbox, durable. A `ready` never called (shutdown) is destroyed with the gate.
  void when_durable(uint64_t mark, std::function<void()> ready);
  size_t waiting_marks() const { return by_mark_.size() + by_durable_.size(); }
  uint64_t settled_batches() const { return settled_batches_; }

  size_t held() const { return held_.size(); }
  uint64_t durable_seq() const { return durable_seq_; }

 private:
  bool must_wait(uint32_t c) const;
  void release_marks();
  void wait_durable(uint64_t receipt, std::function<void()> ready);
  void try_release(uint32_t c);

  struct Held {
    oemlink_status status;
    std::string message;
  };
  uint64_t durable_seq_;
  Release release_;
  bool with_outbox_;
  SegmentedVector<std::atomic<uint32_t>> signing_;  // per connection: batches being signed
  SegmentedVector<uint64_t> receipts_;  // per connection: latest outbox receipt (with an outbox)
  std::unordered_map<uint32_t, Held> held_;                 // by connection
  std::multimap<uint64_t, uint32_t> by_receipt_;            // receipt -> connection waiting for it
  uint64_t settled_batches_ = 0;                            // batch_settled calls so far
  uint64_t receipt_high_ = 0;                               // highest receipt settled so far
  std::multimap<uint64_t, std::function<void()>> by_mark_;  // waiting for settlement
  std::multimap<uint64_t, std::function<void()>> by_durable_;  // waiting for a receipt
};

}  // namespace oemlink::host
