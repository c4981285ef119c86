// Wall-clock time as Unix milliseconds: what OEMs, CloudEvents and operators speak. Scheduling
// uses the steady clock instead (see core/host), so a clock step never stalls polling.
#pragma once

#include <chrono>
#include <cstdint>

namespace oemlink {

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace oemlink
