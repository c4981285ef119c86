// oemlink-mock-oem: mock automaker cloud services for tests and benchmarks.
//   oemlink-mock-oem tesla --port 0 --captures DIR [options]
//   oemlink-mock-oem smartcar --port 0 [options]
//   oemlink-mock-oem smartcar-send --url U --amt KEY [--forge|--truncate|--replay] FILE
// The servers print "listening <port>" as the first line of standard output.
#include "tools/mock-oem/mock_commands.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  using namespace oemlink::mock_oem;
  struct Command {
    const char* name;
    int (*run)(int, char**);
    const char* summary;
  };
  static const Command kCommands[] = {
      {"tesla", &run_tesla, "mock Tesla Fleet API (and Fleet Telemetry publisher with --mqtt)"},
      {"smartcar", &run_smartcar, "mock Smartcar API (v3 signals, v2 batch, token endpoint)"},
      {"smartcar-send", &run_smartcar_send, "send signed Smartcar webhook deliveries"},
  };
  if (argc >= 2) {
    for (const auto& c : kCommands)
      if (std::string_view(argv[1]) == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "usage: oemlink-mock-oem <command> [options]; --help after a command\n");
  for (const auto& c : kCommands) std::fprintf(stderr, "  %-14s %s\n", c.name, c.summary);
  const bool asked =
      argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0);
  return asked ? 0 : 2;
}
