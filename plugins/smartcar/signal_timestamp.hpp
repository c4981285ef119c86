// When Smartcar says a value was measured. Its payloads disagree on the encoding: webhooks send
// epoch milliseconds, REST examples 10-digit epoch seconds, real v3 pages ISO 8601 strings, and
// v2 the SC-Data-Age header (ISO 8601). All of them land here.
#ifndef OEMLINK_SMARTCAR_SIGNAL_TIMESTAMP_HPP
#define OEMLINK_SMARTCAR_SIGNAL_TIMESTAMP_HPP

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace oemlink::smartcar {

// A number, a numeric string or an ISO 8601 string, as Unix ms. Numbers below 1e11 are epoch
// seconds (10 digits), below 1e14 milliseconds; 0, negatives, larger values and unparsable text
// are nullopt ("unknown": Smartcar sends 0 for "never updated").
std::optional<int64_t> parse_timestamp_ms(const boost::json::value* v);
std::optional<int64_t> parse_timestamp_text_ms(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (also a space for 'T', no zone = UTC).
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

// A signal's time: meta.oemUpdatedAt, else meta.retrievedAt (or the docs' meta.fetchedAt), else
// `now_ms`.
int64_t signal_time_ms(const boost::json::value* meta, int64_t now_ms);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_SIGNAL_TIMESTAMP_HPP
