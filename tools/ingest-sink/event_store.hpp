// Where accepted events go: appended to a JSON Lines file (optional) and remembered just enough
// to check DIMO's ordering expectation.
//
// Order rule: for each (client certificate CN, subject), accepted events' `time`s must not go
// backwards in arrival order. DIMO keeps one connection's data for a vehicle in time order; a
// sender that retries an old event after a newer one was accepted breaks that, and this counts it.
#pragma once

#include "tools/ingest-sink/request_validator.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace oemlink::ingest_sink {

class EventStore {
 public:
  // `path` empty: keep counts only. Otherwise opened for append (created 0644); throws
  // std::runtime_error when it cannot be.
  explicit EventStore(const std::string& path);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Thread-safe. Stores `body` as one line with `"_client_cn":"<cn>"` added as the last member;
  // the rest of the bytes are kept as sent, so signatures still verify from the file.
  // Returns: true when this event broke the order rule (it is stored and counted anyway).
  bool append(std::string_view body, std::string_view client_cn, const AcceptedEvent& event);

  uint64_t accepted() const;
  uint64_t order_violations() const;

  // Closes the file; later appends only count. Called at shutdown.
  void close();

 private:
  mutable std::mutex mutex_;
  int fd_ = -1;
  uint64_t accepted_ = 0;
  uint64_t order_violations_ = 0;
  std::map<std::pair<std::string, std::string>, EventTime, std::less<>> last_time_;
};

// The line EventStore writes for `body`: newlines (only possible as JSON whitespace) become
// spaces and `_client_cn` is added before the closing brace.
std::string store_line(std::string_view body, std::string_view client_cn);

}  // namespace oemlink::ingest_sink
