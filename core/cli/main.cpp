// oemlink: connects cars to the DIMO network through their makers' cloud APIs.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "core/cli/command_line.hpp"
#include "core/common/log_line_format.hpp"
#include "core/common/process_hardening.hpp"
#include "core/vault/kek_source.hpp"

int main(int argc, char** argv) {
  // Until `run` sets up its configured logging, diagnostics (the mlock warning of the key
  // commands among them) go to stderr: stdout is the commands' output, read by scripts.
  auto stderr_logger = std::make_shared<spdlog::logger>(
      "oemlink-cli", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  // Redacted like every later line: a config error may quote a value.
  stderr_logger->set_formatter(oemlink::make_log_formatter(oemlink::LogLineStyle::text));
  spdlog::set_default_logger(stderr_logger);

  // Every command that reads a KEK (run, keys, deadletter, and any added later) does so only
  // after this, so none can forget it; the others lose nothing by it.
  oemlink::harden_process_for_secrets();
  oemlink::vault::take_env_keks_out_of_environment();
  std::vector<std::string> args(argv + 1, argv + argc);
  // The copy above is what is parsed; the original is what `ps` shows every user.
  oemlink::scrub_argument_values(argc, argv, "--kek-command");
  return oemlink::cli::run_oemlink(args);
}
