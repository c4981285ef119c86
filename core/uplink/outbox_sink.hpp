// The pipeline's primary sink when the outbox is on: every event goes into the durable outbox,
// and the sinks proper (HTTPS, MQTT, file) deliver from there, each at its own cursor.
#pragma once

#include "core/pipeline/event_sink.hpp"
#include "core/store/outbox_store.hpp"

namespace oemlink::uplink {

class OutboxSink final : public pipeline::EventSink {
 public:
  explicit OutboxSink(store::OutboxStore& outbox) : outbox_(outbox) {}
  std::string_view name() const override { return "outbox"; }
  // False when the outbox is full under the `block` policy: the driver keeps its readings.
  bool append(const pipeline::Event& event) override {
    auto seq = outbox_.append(event.id, event.connection_id, event.json);
    if (!seq) return false;
    last_ = *seq;
    return true;
  }
  // Not while commits fail (a full disk): what it took then would be held in memory only.
  bool accepting() const override { return !outbox_.commit_failing(); }
  void flush() override {}  // the outbox commits on its own; durability is tracked by receipt
  uint64_t last_receipt() const override { return last_; }

 private:
  store::OutboxStore& outbox_;
  uint64_t last_ = 0;
};

}  // namespace oemlink::uplink
