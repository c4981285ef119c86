// Lists of v2 responses, {path, code, body, headers}: the `responses` of a v2 batch answer and
// the `data` of a legacy 2.0 webhook vehicle look the same. Each 200 is mapped (signal_mapper)
// with its own SC-Unit-System and SC-Data-Age headers; other codes are per-path failures,
// skipped and counted like v3's ERROR signals.
#ifndef OEMLINK_SMARTCAR_V2_RESPONSES_HPP
#define OEMLINK_SMARTCAR_V2_RESPONSES_HPP

#include "signal_mapper.hpp"

#include <boost/json/array.hpp>

namespace oemlink::smartcar {

void map_v2_responses(const boost::json::array& responses, UnitSystem default_units, int64_t now_ms,
                      std::vector<oemlink_reading>& out, MapStats& stats);

}  // namespace oemlink::smartcar

#endif  // OEMLINK_SMARTCAR_V2_RESPONSES_HPP
