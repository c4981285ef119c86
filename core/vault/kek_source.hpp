// Where the key-encryption key (KEK) that seals the master seed comes from. The KEK never lives in
// the vault file; an operator supplies it through one of three sources:
//   env      a variable (default OEMLINK_KEK) holding 64 hex characters
//   file     a regular file, mode 0600 or stricter, holding 64 hex characters (+ one optional
//            line ending) — the same text as the variable, so `openssl rand -hex 32 > kek` works
//   command  the stdout of `/bin/sh -c CMD` (64 hex characters), for a KMS or TPM unwrap tool;
//            it must exit 0 within the timeout
// Errors name the source (variable, file path and mode, command and exit status) and never the
// value.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "core/store/secret_store.hpp"
#include "core/vault/locked_buffer.hpp"

namespace oemlink::vault {

struct KekSourceConfig {
  enum class Kind { env, file, command };
  Kind kind = Kind::env;
  std::string env_name = "OEMLINK_KEK";  // kind == env
  std::filesystem::path file{};          // kind == file
  std::string command{};                 // kind == command, run by /bin/sh -c
  std::chrono::milliseconds command_timeout{10'000};
};

// A loaded KEK in locked memory, wiped when destroyed.
class Kek {
 public:
  Kek();
  // The AEAD helper in core/store takes its key type.
  const store::DataKey& get() const { return *key_; }
  store::DataKey& mutable_key() { return *key_; }

 private:
  LockedBuffer buf_;
  store::DataKey* key_;
};

// Throws VaultError naming the source on any problem.
[[nodiscard]] Kek load_kek(const KekSourceConfig& source);

// "environment variable OEMLINK_KEK", "KEK file /etc/oemlink/kek", "KEK command 'kms-unwrap'":
// how messages name a source. For commands only the first word is shown, because the rest may
// carry credentials.
[[nodiscard]] std::string describe(const KekSourceConfig& source);

}  // namespace oemlink::vault
