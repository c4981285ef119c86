#include "core/uplink/jsonl_file_sink.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace oemlink::uplink {

namespace fs = std::filesystem;

JsonLinesFileSink::JsonLinesFileSink(std::string name, const config::FileSinkConfig& cfg,
                                     MetricsRegistry& metrics)
    : name_(std::move(name)),
      cfg_(cfg),
      written_(metrics.counter("sink_" + name_ + "_events_written")),
      failed_(metrics.counter("sink_" + name_ + "_write_failures")),
      rotations_(metrics.counter("sink_" + name_ + "_rotations")) {
  open();
}

JsonLinesFileSink::~JsonLinesFileSink() {
  if (file_) std::fclose(file_);
}

void JsonLinesFileSink::open() {
  std::error_code ec;
  if (cfg_.path.has_parent_path()) fs::create_directories(cfg_.path.parent_path(), ec);
  file_ = std::fopen(cfg_.path.c_str(), "ab");
  if (!file_) {
    throw std::runtime_error("sink " + name_ + ": cannot open " + cfg_.path.string() + ": " +
                             std::strerror(errno));
  }
  static constexpr size_t kBuffer = 1 << 20;
  std::setvbuf(file_, nullptr, _IOFBF, kBuffer);
  size_ = fs::file_size(cfg_.path, ec);
  if (ec) size_ = 0;
}

bool JsonLinesFileSink::rotate() {
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  std::string base = cfg_.path.string();
  if (cfg_.keep_files == 0) {
    fs::remove(cfg_.path, ec);
  } else {
    fs::remove(base + "." + std::to_string(cfg_.keep_files), ec);
    for (uint32_t i = cfg_.keep_files; i > 1; --i)
      fs::rename(base + "." + std::to_string(i - 1), base + "." + std::to_string(i), ec);
    fs::rename(cfg_.path, base + ".1", ec);
  }
  try {
    open();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  rotations_.add();
  return true;
}

bool JsonLinesFileSink::append(const pipeline::Event& event) {
  if (!file_ && !rotate()) {
    failed_.add();
    return false;
  }
  if (cfg_.rotate_bytes && size_ + event.json.size() + 1 > cfg_.rotate_bytes && size_ > 0 &&
      !rotate()) {
    failed_.add();
    return false;
  }
  if (std::fwrite(event.json.data(), 1, event.json.size(), file_) != event.json.size() ||
      std::fputc('\n', file_) == EOF) {
    spdlog::error("sink {}: write to {} failed: {}", name_, cfg_.path.string(),
                  std::strerror(errno));
    failed_.add();
    std::clearerr(file_);
    return false;
  }
  size_ += event.json.size() + 1;
  written_.add();
  return true;
}

void JsonLinesFileSink::flush() {
  if (file_ && std::fflush(file_) != 0)
    spdlog::error("sink {}: flush of {} failed: {}", name_, cfg_.path.string(),
                  std::strerror(errno));
}

}  // namespace oemlink::uplink
