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
  // Where `subject` and `producer` sit in json, for the envelope checks.
  uint32_t subject_offset = 0, subject_size = 0;
  uint32_t producer_offset = 0, producer_size = 0;

  std::string_view data() const { return std::string_view(json).substr(data_offset, data_size); }
  std::string_view subject() const {
    return std::string_view(json).substr(subject_offset, subject_size);
  }
  std::string_view producer() const {
    return std::string_view(json).substr(producer_offset, producer_size);
  }
};

}  // namespace oemlink::pipeline
