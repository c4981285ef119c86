// oemlink: connects cars to the DIMO network through their makers' cloud APIs.
#include "core/cli/command_line.hpp"

int main(int argc, char** argv) {
  return oemlink::cli::run_oemlink(std::vector<std::string>(argv + 1, argv + argc));
}
