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

#include <string>

#include "core/common/data_key.hpp"
#include "core/common/kek_source_config.hpp"
#include "core/common/locked_buffer.hpp"

namespace oemlink::vault {

// A loaded KEK in locked memory, wiped when destroyed.
class Kek {
 public:
  const DataKey& get() const { return key_.get(); }
  DataKey& mutable_key() { return key_.get(); }

 private:
  LockedDataKey key_;
};

// Throws VaultError naming the source on any problem.
[[nodiscard]] Kek load_kek(const KekSourceConfig& source);

// For the executables that hold keys (oemlink, oemlink-keyd), once, before the first load_kek and
// before other threads start: from then on an environment variable that holds a KEK is read once,
// then scrubbed from the environment (scrub_environment_variable, core/common), so neither
// /proc/<pid>/environ nor a child process sees it; later load_kek calls for the same variable in
// this process get the KEK from locked memory. Without it (libraries, in-process tests) the
// environment is left alone.
void take_env_keks_out_of_environment();

// "environment variable OEMLINK_KEK", "KEK file /etc/oemlink/kek", "KEK command 'kms-unwrap'":
// how messages name a source. For commands only the first word is shown, because the rest may
// carry credentials.
[[nodiscard]] std::string describe(const KekSourceConfig& source);

}  // namespace oemlink::vault
