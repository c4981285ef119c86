// The data dir's layout in one place: every file the host, its CLI and keyd keep there is named
// here, so a rename or a new file is one edit and `grep DataDir` finds every user.
#pragma once

#include <filesystem>

namespace oemlink {

class DataDir {
 public:
  // Where the data dir is when the configuration names none, relative to the working directory.
  static constexpr const char* kDefaultRoot = "var/oemlink";

  DataDir() = default;
  explicit DataDir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // Events waiting for delivery, and the data key that seals them (sealed under the KEK).
  std::filesystem::path outbox_db() const { return root_ / "outbox.db"; }
  std::filesystem::path outbox_key() const { return root_ / "outbox.key"; }
  // Drivers' OAuth tokens, and their sealed data key.
  std::filesystem::path secrets_db() const { return root_ / "secrets.db"; }
  std::filesystem::path secrets_key() const { return root_ / "secrets.key"; }
  // Every connection the daemon serves (YAML ones reconciled in, linked ones), with its state.
  std::filesystem::path connections_db() const { return root_ / "connections.db"; }
  // Key child numbers claimed by connections, for good.
  std::filesystem::path keys_db() const { return root_ / "keys.db"; }
  // The sealed master seed and keyd's socket, unless the config places them elsewhere.
  std::filesystem::path vault_sealed() const { return root_ / "vault.sealed"; }
  std::filesystem::path keyd_socket() const { return root_ / "keyd.sock"; }
  // Held (flock) by the one daemon that owns this data dir; holds that daemon's pid.
  std::filesystem::path lock_file() const { return root_ / "oemlink.lock"; }
  // What `oemlink status` reads; written by the running daemon.
  std::filesystem::path status_json() const { return root_ / "status.json"; }
  // Drivers' crashes and quarantines, appended (core/host/driver_quarantine.hpp).
  std::filesystem::path driver_faults_log() const { return root_ / "driver-faults.log"; }

 private:
  std::filesystem::path root_;
};

}  // namespace oemlink
