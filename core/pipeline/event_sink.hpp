// Where built events go. Implementations live in core/uplink (file, and later the durable
// outbox feeding HTTPS and MQTT).
#pragma once

#include "core/pipeline/event.hpp"

#include <string_view>

namespace oemlink::pipeline {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual std::string_view name() const = 0;
  // [serialized by the pipeline] Takes the event. False when it could not (I/O error or
  // back-pressure): the pipeline then answers RETRY so the driver keeps its data.
  virtual bool append(const Event& event) = 0;
  // Pushes buffered events to their destination.
  virtual void flush() = 0;
  // [any-thread] False while the sink can make nothing durable (the outbox's commits fail): the
  // pipeline then takes no new batch at all, so the driver keeps its readings (RETRY) instead of
  // having them accepted into memory that a shutdown may have to give up.
  virtual bool accepting() const { return true; }
  // What the last successful append() was recorded as (the outbox's sequence number), so the
  // host can hold back a source's acknowledgement until that record is durable; 0 when the sink
  // has no such notion.
  virtual uint64_t last_receipt() const { return 0; }
};

}  // namespace oemlink::pipeline
