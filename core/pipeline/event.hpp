// A built event: the complete CloudEvent JSON line plus where its `data` bytes sit inside it,
// so a signer and a verifier address exactly the bytes that were serialized once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::pipeline {

struct Event {
  std::string id;             // UUIDv7, stable across retries
  std::string connection_id;  // the operator's connection id
  int64_t time_ms = 0;        // CloudEvent `time`
  std::string json;           // one CloudEvent, structured mode, no trailing newline
  size_t data_offset = 0;     // json.substr(data_offset, data_size) is the `data` value
  size_t data_size = 0;

  std::string_view data() const { return std::string_view(json).substr(data_offset, data_size); }
};

}  // namespace oemlink::pipeline
