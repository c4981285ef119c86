#include "tools/mock-oem/mock_commands.hpp"

#include <cstdio>

namespace oemlink::mock_oem {
// Placeholders until the mock Smartcar lands (issue 13).
int run_smartcar(int, char**) {
  std::fprintf(stderr, "oemlink-mock-oem smartcar: not built yet\n");
  return 2;
}
int run_smartcar_send(int, char**) {
  std::fprintf(stderr, "oemlink-mock-oem smartcar-send: not built yet\n");
  return 2;
}
}  // namespace oemlink::mock_oem
