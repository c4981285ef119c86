#include "core/host/slow_call_log.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::host {

void SlowCallLog::slow(std::string_view driver, const char* call, std::string_view connection,
                       int64_t took_ms) {
  slow_calls_.add();
  gate_.log(clock_.wall_ms(), spdlog::level::warn,
            LogFields{.driver = driver, .connection = connection},
            "driver {}: {} took {} ms{} (driver calls must not block)", driver, call, took_ms,
            connection.empty() ? std::string() : " for connection " + std::string(connection));
}

}  // namespace oemlink::host
