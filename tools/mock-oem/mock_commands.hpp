// Entry points of oemlink-mock-oem's commands; argv[0] is the command name.
#pragma once

namespace oemlink::mock_oem {

int run_tesla(int argc, char** argv);
int run_smartcar(int argc, char** argv);
int run_smartcar_send(int argc, char** argv);

}  // namespace oemlink::mock_oem
