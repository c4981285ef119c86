// One configured driver entry: the loaded library's descriptor, the driver's instance handle and
// the host table handed to it (whose host_data points back here).
#pragma once

#include "core/config/config.hpp"

#include <oemlink/driver.h>

#include <boost/asio/steady_timer.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace oemlink::host {

class Runtime;

struct DriverInstance {
  Runtime* runtime = nullptr;
  uint32_t index = 0;
  const config::DriverConfig* cfg = nullptr;  // points into the runtime's config
  std::string name;                           // the config entry's name
  std::filesystem::path path;
  const oemlink_driver* d = nullptr;
  oemlink_instance* inst = nullptr;
  oemlink_host table{};
  uint16_t lane = 0;
  bool skipped = false;  // on_load_error: skip took effect

  // The driver-wide stream (mode driver_stream).
  bool stream_up = false;
  uint8_t stream_failures = 0;
  int64_t stream_started_ms = 0;
  std::unique_ptr<boost::asio::steady_timer> stream_restart;
};

// Fills the C host-services table for `d`.
oemlink_host make_host_table(DriverInstance& d);

}  // namespace oemlink::host
