#include "core/cli/logging_setup.hpp"

#include "core/common/log_line_format.hpp"
#include "core/common/private_files.hpp"

#include <sys/stat.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace oemlink::cli {

void setup_logging(const config::LoggingConfig& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.file.empty()) {
    logger = spdlog::stderr_color_mt("oemlink");
  } else {
    try {
      // The log names cars and connections: created 0600 in 0700 directories before spdlog
      // opens it (spdlog would create both under the umask), and an older, wider file is
      // narrowed.
      create_private_file(cfg.file);
      ::chmod(cfg.file.c_str(), 0600);
      logger = spdlog::basic_logger_mt("oemlink", cfg.file);
    } catch (const FileError& e) {
      throw std::runtime_error(std::string("logging.file: ") + e.what());
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("logging.file " + cfg.file + ": " + e.what());
    }
  }
  // Both styles redact secrets and carry the structured fields and suppression counts
  // (core/common/log_line_format.hpp).
  logger->set_formatter(make_log_formatter(
      cfg.format == config::LogFormat::json ? LogLineStyle::json : LogLineStyle::text));
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(2));
}

}  // namespace oemlink::cli
