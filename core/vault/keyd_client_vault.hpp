// KeyVault backed by a separate oemlink-keyd process: the seed never enters this process.
// Keeps a small pool of persistent connections (mutex-protected); a connection that fails is
// dropped and the request retried once on a fresh one, so a restarted keyd is picked up without
// restarting the host. Every error is a VaultError naming the socket path.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include <sys/types.h>

#include "core/vault/key_vault.hpp"

namespace oemlink::vault {

struct KeydClientOptions {
  std::filesystem::path socket{};
  std::chrono::milliseconds timeout{5'000};  // per request, for send and for receive
  size_t max_idle_connections = 8;
  // The uid keyd must run as (SO_PEERCRED, checked before anything is sent); unset: our own.
  std::optional<uid_t> server_uid{};
};

class KeydClientVault final : public KeyVault {
 public:
  explicit KeydClientVault(KeydClientOptions options);
  ~KeydClientVault() override;

  [[nodiscard]] crypto::Address20 address(uint32_t child) override;
  [[nodiscard]] crypto::Signature65 sign_hash(uint32_t child,
                                              const crypto::Hash32& hash32) override;
  // In batches of keyd::kMaxClaimsPerRequest, each one transaction in keyd.
  [[nodiscard]] std::vector<std::pair<size_t, std::string>> claim_all(ClaimList claims) override;
  [[nodiscard]] uint32_t claim_next(std::string_view connection_id) override;
  void retire(uint32_t child) override;

  // Connects once (and keeps the connection for reuse), so a missing or unreachable keyd is
  // reported at startup rather than on the first signature. Throws VaultError.
  void check_reachable();

 private:
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace oemlink::vault
