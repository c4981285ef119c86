// The ingest node's rules for an envelope (dimo-wire.md section 1), checked before an event
// leaves us: an event DIS would refuse is rejected here with the reason, and counted.
#pragma once

#include "core/pipeline/event.hpp"

#include <string>
#include <string_view>

namespace oemlink::pipeline {

// DIS: id, type, subject, producer and dataversion must match ^[a-zA-Z0-9\-_/,. :]+$.
bool is_dis_field(std::string_view v);

// The header (the event without `data`) may serialize to at most 8 KiB.
inline constexpr size_t kMaxHeaderBytes = 8192;

// Empty when the event passes, else why not. `event` is as EventBuilder made it.
std::string check_envelope(const Event& event);

}  // namespace oemlink::pipeline
