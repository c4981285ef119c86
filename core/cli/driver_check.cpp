#include "core/cli/driver_check.hpp"

#include "core/cli/embedded_config.hpp"
#include "core/config/driver_settings.hpp"
#include "core/loader/driver_library.hpp"

namespace oemlink::cli {

std::vector<DriverCheck> check_drivers(const config::Config& cfg) {
  std::vector<DriverCheck> out;
  auto dirs = loader::default_plugin_dirs();
  for (const config::DriverConfig& dc : cfg.drivers) {
    DriverCheck c;
    c.cfg = &dc;
    c.skippable = dc.on_load_error == config::OnLoadError::skip;
    try {
      c.path = loader::resolve_driver_library(dc.library, dc.library_path, dirs);
      c.descriptor = loader::load_driver_library(c.path).descriptor;
      config::driver_settings_to_json(
          dc, std::span<const oemlink_setting>(c.descriptor->settings, c.descriptor->setting_count),
          dc.name);
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    out.push_back(std::move(c));
  }
  return out;
}

config::Config load_config_or_default(const std::string& path) {
  if (path.empty())
    return config::load_config_text(embedded_default_config(), "<embedded>",
                                    std::filesystem::current_path());
  return config::load_config_file(path);
}

}  // namespace oemlink::cli
