#include "core/host/driver_check.hpp"

#include "core/isolation/child_process.hpp"

#include "core/config/config_error.hpp"
#include "core/config/driver_settings.hpp"
#include "core/loader/driver_library.hpp"

#include <span>

namespace oemlink::host {
namespace {

std::string entry_path(const config::DriverConfig& dc) {
  return dc.key_path.empty() ? "drivers." + dc.name : dc.key_path;
}

// "FILE:LINE:COL: drivers[N]<suffix>: message", like the config loader's diagnostics.
std::string at_entry(const config::DriverConfig& dc, const std::string& suffix,
                     const std::string& message) {
  return config::format_diagnostic({dc.position, entry_path(dc) + suffix, message});
}

// The mode's capabilities, or the reason the driver cannot serve it.
std::string mode_problem(const config::DriverConfig& dc, const oemlink_driver& d) {
  const std::string caps = " (capabilities: " + loader::describe_capabilities(d.capabilities) + ")";
  const std::string driver = "driver '" + std::string(d.name) + "'";
  const bool polls = d.capabilities & OEMLINK_CAP_POLL;
  const bool streams = d.capabilities & OEMLINK_CAP_STREAM;
  switch (dc.mode) {
    case config::IngestMode::poll:
      return polls ? "" : "mode poll, but " + driver + " cannot poll" + caps;
    case config::IngestMode::stream:
      return streams ? "" : "mode stream, but " + driver + " has no stream" + caps;
    case config::IngestMode::driver_stream:
      return streams ? "" : "mode driver_stream, but " + driver + " has no stream" + caps;
    case config::IngestMode::poll_and_driver_stream:
      if (polls && streams) return {};
      return "mode poll+driver_stream, but " + driver +
             (polls     ? " has no stream"
              : streams ? " cannot poll"
                        : " can neither poll nor stream") +
             caps;
  }
  return {};
}

}  // namespace

DriverCheckReport check_drivers(const config::Config& cfg,
                                std::vector<std::filesystem::path> plugin_dirs) {
  if (plugin_dirs.empty()) plugin_dirs = loader::default_plugin_dirs();
  DriverCheckReport report;
  for (const config::DriverConfig& dc : cfg.drivers) {
    DriverCheck c;
    c.cfg = &dc;
    try {
      c.path = loader::resolve_driver_library(dc.library, dc.library_path, plugin_dirs);
      c.descriptor = loader::load_driver_library(c.path).descriptor;
    } catch (const std::exception& e) {
      c.error = e.what();
      c.skipped = dc.on_load_error == config::OnLoadError::skip;
      std::string line =
          at_entry(dc, "", (c.skipped ? "skipped (on_load_error: skip): " : "") + c.error);
      (c.skipped ? report.warnings : report.errors).push_back(std::move(line));
      report.drivers.push_back(std::move(c));
      continue;
    }
    if (std::string problem = mode_problem(dc, *c.descriptor); !problem.empty()) {
      c.error = problem;
      report.errors.push_back(at_entry(dc, ".mode", problem));
    }
    if (dc.isolation == config::DriverIsolation::process &&
        isolation::find_driver_process_program().empty()) {
      c.error =
          "isolation: process needs the program oemlink-driver-process, found neither "
          "beside oemlink, in ../libexec/oemlink, nor in $OEMLINK_DRIVER_PROCESS";
      report.errors.push_back(at_entry(dc, ".isolation", c.error));
    }
    try {
      c.settings_json = config::driver_settings_to_json(
          dc, std::span<const oemlink_setting>(c.descriptor->settings, c.descriptor->setting_count),
          dc.name);
    } catch (const config::ConfigError& e) {
      c.error += (c.error.empty() ? "" : "\n") + std::string(e.what());
      for (const config::Diagnostic& d : e.diagnostics())
        report.errors.push_back(config::format_diagnostic(d));
    }
    report.drivers.push_back(std::move(c));
  }
  return report;
}

}  // namespace oemlink::host
