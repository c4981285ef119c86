// The serving half of oemlink-keyd: answers address/sign/claim/retire requests
// (keyd_protocol.hpp) for one KeyVault over a Unix stream socket, to peers of an allowed uid only.
//
// Threads: Boost.Asio, one io_context run by `threads` threads. A request is signed inline in the
// handler (tens of microseconds), so N threads sign for N clients at once; each connection has one
// request in flight at a time, so a session needs no strand.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/vault/key_vault.hpp"

namespace oemlink::vault {

struct KeydServerOptions {
  std::filesystem::path socket{};
  // The host's uid when it differs from keyd's: then exactly that uid is admitted (not keyd's
  // own) and the socket is made 0666 so it can connect (SO_PEERCRED is the gate).
  std::optional<uid_t> host_uid{};
  // Peers whose uid (SO_PEERCRED) is not the host's (default: keyd's own) nor listed here are
  // disconnected.
  std::vector<uid_t> allowed_uids{};
  unsigned threads = 0;  // 0: the number of CPUs (at least 2)
  // SIGTERM/SIGINT stop run(); off when embedded in a process that handles signals itself.
  bool stop_on_signals = false;
};

class KeydServer {
 public:
  // Binds the socket (mode 0600): a stale socket file is removed first, but a live keyd, or a
  // path that is not a socket, is refused. Throws VaultError naming the path.
  KeydServer(KeyVault& vault, KeydServerOptions options);
  // Removes the socket file.
  ~KeydServer();
  KeydServer(const KeydServer&) = delete;
  KeydServer& operator=(const KeydServer&) = delete;

  // Serves until stop() (or a signal, if enabled); returns after every thread has joined.
  void run();
  // [any-thread] Makes run() return.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oemlink::vault
