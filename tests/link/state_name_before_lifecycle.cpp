// host::state_name is declared in core/host/connection_control.hpp and defined by the connection
// lifecycle work (core/host/connection_control.cpp), which is not on this branch yet. Until both
// are merged the link tests carry this copy; delete this file (and its line in CMakeLists.txt)
// at that merge, or the link fails with a duplicate symbol.
#include "core/host/connection_control.hpp"

namespace oemlink::host {

std::string_view state_name(ConnectionState s) {
  switch (s) {
    case ConnectionState::linking:
      return "linking";
    case ConnectionState::active:
      return "active";
    case ConnectionState::paused:
      return "paused";
    case ConnectionState::needs_reauth:
      return "needs_reauth";
    case ConnectionState::revoked:
      return "revoked";
  }
  return "unknown";
}

}  // namespace oemlink::host
