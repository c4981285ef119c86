#include "core/host/driver_check.hpp"

#include "core/config/driver_settings.hpp"
#include "core/loader/driver_library.hpp"

#include <span>

namespace oemlink::host {
namespace {

// The mode the operator chose must be one the driver declares.
std::string mode_mismatch(const config::DriverConfig& dc, const oemlink_driver& d) {
  bool poll = dc.mode == config::IngestMode::poll;
  if (poll && !(d.capabilities & OEMLINK_CAP_POLL))
    return "mode poll, but '" + std::string(d.name) +
           "' cannot poll (capabilities: " + loader::describe_capabilities(d.capabilities) + ")";
  if (!poll && !(d.capabilities & OEMLINK_CAP_STREAM))
    return "stream mode, but '" + std::string(d.name) +
           "' has no stream (capabilities: " + loader::describe_capabilities(d.capabilities) + ")";
  return {};
}

}  // namespace

std::vector<DriverCheck> check_drivers(const config::Config& cfg,
                                       std::vector<std::filesystem::path> plugin_dirs) {
  if (plugin_dirs.empty()) plugin_dirs = loader::default_plugin_dirs();
  std::vector<DriverCheck> out;
  out.reserve(cfg.drivers.size());
  for (const config::DriverConfig& dc : cfg.drivers) {
    DriverCheck c;
    c.cfg = &dc;
    c.skippable = dc.on_load_error == config::OnLoadError::skip;
    try {
      c.path = loader::resolve_driver_library(dc.library, dc.library_path, plugin_dirs);
      c.descriptor = loader::load_driver_library(c.path).descriptor;
    } catch (const std::exception& e) {
      c.error = e.what();
      c.load_failed = true;
      out.push_back(std::move(c));
      continue;
    }
    c.error = mode_mismatch(dc, *c.descriptor);
    if (c.error.empty()) {
      try {
        c.settings_json = config::driver_settings_to_json(
            dc,
            std::span<const oemlink_setting>(c.descriptor->settings,
                                             c.descriptor->setting_count),
            dc.name);
      } catch (const std::exception& e) {
        c.error = e.what();
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> fatal_driver_errors(const std::vector<DriverCheck>& checks) {
  std::vector<std::string> errors;
  for (const DriverCheck& c : checks) {
    if (c.error.empty() || (c.load_failed && c.skippable)) continue;
    errors.push_back("driver " + c.cfg->name + ": " + c.error);
  }
  return errors;
}

}  // namespace oemlink::host
