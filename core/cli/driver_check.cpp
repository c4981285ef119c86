#include "core/cli/driver_check.hpp"

#include "core/cli/embedded_config.hpp"

namespace oemlink::cli {

config::Config load_config_or_default(const std::string& path) {
  if (path.empty())
    return config::load_config_text(embedded_default_config(), "<embedded>",
                                    std::filesystem::current_path());
  return config::load_config_file(path);
}

}  // namespace oemlink::cli
