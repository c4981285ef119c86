#include "core/host/durability_gate.hpp"

#include <algorithm>

namespace oemlink::host {

DurabilityGate::DurabilityGate(size_t connections, bool with_outbox, uint64_t durable_seq,
                               Release release)
    : durable_seq_(durable_seq), release_(std::move(release)), with_outbox_(with_outbox) {
  grow_to(connections);
}

void DurabilityGate::grow_to(size_t connections) {
  signing_.grow_to(connections);
  if (with_outbox_) receipts_.grow_to(connections);
}

void DurabilityGate::batch_settled(uint32_t c, uint64_t receipt) {
  signing_[c].fetch_sub(1);
  // Only the loop writes receipts (settlements are posted to it), so a plain max will do.
  if (receipt && with_outbox_) receipts_[c] = std::max(receipts_[c], receipt);
  ++settled_batches_;
  receipt_high_ = std::max(receipt_high_, receipt);
  try_release(c);
  release_marks();
}

void DurabilityGate::durable_through(uint64_t seq) {
  durable_seq_ = std::max(durable_seq_, seq);
  while (!by_receipt_.empty() && by_receipt_.begin()->first <= durable_seq_) {
    uint32_t c = by_receipt_.begin()->second;
    by_receipt_.erase(by_receipt_.begin());
    try_release(c);
  }
  while (!by_durable_.empty() && by_durable_.begin()->first <= durable_seq_) {
    std::function<void()> ready = std::move(by_durable_.begin()->second);
    by_durable_.erase(by_durable_.begin());
    ready();
  }
}

void DurabilityGate::when_durable(uint64_t mark, std::function<void()> ready) {
  if (mark > settled_batches_) {
    by_mark_.emplace(mark, std::move(ready));
    return;
  }
  // Settled already: what it stored is at most the highest receipt seen so far.
  wait_durable(receipt_high_, std::move(ready));
}

// Called after each settlement, so a mark that is reached is filed under exactly the highest
// receipt of the batches up to it.
void DurabilityGate::release_marks() {
  while (!by_mark_.empty() && by_mark_.begin()->first <= settled_batches_) {
    std::function<void()> ready = std::move(by_mark_.begin()->second);
    by_mark_.erase(by_mark_.begin());
    wait_durable(receipt_high_, std::move(ready));
  }
}

void DurabilityGate::wait_durable(uint64_t receipt, std::function<void()> ready) {
  if (!with_outbox_ || receipt <= durable_seq_) {
    ready();
    return;
  }
  by_durable_.emplace(receipt, std::move(ready));
}

bool DurabilityGate::must_wait(uint32_t c) const {
  if (signing_[c].load() > 0) return true;
  return with_outbox_ && receipts_[c] > durable_seq_;
}

void DurabilityGate::complete(uint32_t c, oemlink_status status, std::string message) {
  if (!must_wait(c)) {
    release_(c, status, message);
    return;
  }
  held_[c] = {status, std::move(message)};
  try_release(c);  // files it under the receipt it waits for, if signing is done
}

// Applies c's held completion if nothing holds it any more; otherwise, when only durability is
// missing, files it under the receipt it waits for: O(log n) per event, never a scan.
void DurabilityGate::try_release(uint32_t c) {
  auto it = held_.find(c);
  if (it == held_.end()) return;
  if (!must_wait(c)) {
    Held h = std::move(it->second);
    held_.erase(it);
    release_(c, h.status, h.message);
    return;
  }
  if (signing_[c].load() == 0) by_receipt_.emplace(receipts_[c], c);
}

void DurabilityGate::release_ready() {
  std::vector<uint32_t> conns;
  conns.reserve(held_.size());
  for (auto& [c, h] : held_) conns.push_back(c);
  for (uint32_t c : conns) try_release(c);
}

}  // namespace oemlink::host
