// The envelope `time` of a stored CloudEvent, read without parsing the whole event: a sink that
// holds events the peer would prune (HttpsDeliverer) looks at every record it sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace oemlink::uplink {

// Unix ms of the first `"time":"<RFC 3339 UTC>"` member (the envelope's: EventBuilder writes the
// envelope before `data`, whose own times are named `timestamp`); nullopt when absent or not
// of the form YYYY-MM-DDTHH:MM:SS[.fff…]Z.
std::optional<int64_t> event_time_ms(std::string_view json);

}  // namespace oemlink::uplink
