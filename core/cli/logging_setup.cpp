#include "core/cli/logging_setup.hpp"

#include "core/common/private_files.hpp"
#include "core/pipeline/json_writer.hpp"

#include <sys/stat.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace oemlink::cli {
namespace {

// The message as a JSON string: spdlog's %v is raw text, which breaks JSON on a quote.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string s;
    pipeline::append_json_string(s, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

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
  if (cfg.format == config::LogFormat::json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%*})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(2));
}

}  // namespace oemlink::cli
