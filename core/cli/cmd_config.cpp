#include "core/cli/cmd_config.hpp"

#include "core/config/schema_reference.hpp"

namespace oemlink::cli {

int run_config_schema(std::ostream& out) {
  config::write_schema_reference(out);
  out.flush();
  return out ? 0 : 1;
}

}  // namespace oemlink::cli
