// Where the key-encryption key (KEK) comes from. Read from the configuration (core/config) and
// by `oemlink keys` and `oemlink-keyd` from their flags; loaded by core/vault (kek_source.hpp).
#pragma once

#include <chrono>
#include <string>

namespace oemlink {

struct KekSourceConfig {
  enum class Kind { env, file, command };
  Kind kind = Kind::env;
  // env: the variable's name; file: its path (resolved); command: the line run by /bin/sh -c.
  std::string value = "OEMLINK_KEK";
  std::chrono::milliseconds command_timeout{10'000};  // kind == command
  bool operator==(const KekSourceConfig&) const = default;
};

}  // namespace oemlink
