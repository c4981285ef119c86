#include "tools/mock-oem/mock_commands.hpp"

#include <cstdio>

namespace oemlink::mock_oem {
// Placeholder until the mock Tesla lands (issue 12).
int run_tesla(int, char**) {
  std::fprintf(stderr, "oemlink-mock-oem tesla: not built yet\n");
  return 2;
}
}  // namespace oemlink::mock_oem
