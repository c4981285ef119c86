#include "tools/ingest-sink/event_store.hpp"

#include "core/pipeline/json_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace oemlink::ingest_sink {

std::string store_line(std::string_view body, std::string_view client_cn) {
  size_t end = body.find_last_of('}');
  std::string line(body.substr(0, end == body.npos ? 0 : end));
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line += ",\"_client_cn\":";
  pipeline::append_json_string(line, client_cn);
  line += "}\n";
  return line;
}

EventStore::EventStore(const std::string& path) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open store " + path + ": " + std::strerror(errno));
}

EventStore::~EventStore() {
  close();
}

bool EventStore::append(std::string_view body, std::string_view client_cn,
                        const AcceptedEvent& event) {
  const std::string line = fd_ >= 0 ? store_line(body, client_cn) : std::string();
  std::lock_guard lock(mutex_);
  ++accepted_;
  bool violated = false;
  auto key = std::make_pair(std::string(client_cn), event.subject);
  auto [it, inserted] = last_time_.try_emplace(std::move(key), event.time);
  if (!inserted) {
    if (event.time < it->second) {
      violated = true;
      ++order_violations_;
    } else {
      it->second = event.time;
    }
  }
  // Unbuffered write(2) under the lock: lines never interleave, and a killed sink has lost
  // nothing it already answered 200 for (short of the kernel crashing).
  for (size_t written = 0; fd_ >= 0 && written < line.size();) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("store write failed: ") + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  return violated;
}

uint64_t EventStore::accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

uint64_t EventStore::order_violations() const {
  std::lock_guard lock(mutex_);
  return order_violations_;
}

void EventStore::close() {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace oemlink::ingest_sink
