// The master seed at rest: one small file, the seed sealed with AES-256-GCM under the KEK.
//
// Format (76 bytes):
//   "OEMLINK-VAULT\n"  (14 bytes, magic; `file` and `head -1` say what it is)
//   0x01               (format version)
//   aead blob          (core/common/aead.hpp: 0x01 || nonce 12 || ciphertext 32 || tag 16)
// The first 15 bytes (magic + version) are GCM associated data, so neither can be altered
// without failing authentication.
//
// Writes are atomic (0600 temp file, fsync, link/rename into place, fsync of the directory) and
// never replace an existing vault unless `overwrite` is true: a new seed orphans every synthetic
// device minted with the old one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "core/common/locked_buffer.hpp"
#include "core/vault/kek_source.hpp"

namespace oemlink::vault {

inline constexpr size_t kSeedSize = 32;

enum class Overwrite { refuse, allow };

// Seals a fresh seed from the OS CSPRNG (RAND_bytes) into `vault_file`.
void create_random_vault(const std::filesystem::path& vault_file, const Kek& kek,
                         Overwrite overwrite = Overwrite::refuse);

// Seals the seed held in `seed_file` (exactly 64 hex characters, one optional line ending), so a
// deployment moving from another signer keeps its addresses. Refuses anything else without
// echoing the content.
void import_vault(const std::filesystem::path& vault_file, const std::filesystem::path& seed_file,
                  const Kek& kek, Overwrite overwrite = Overwrite::refuse);

// Seals `seed` (32 bytes) into `vault_file`.
void write_vault(const std::filesystem::path& vault_file, std::span<const uint8_t> seed,
                 const Kek& kek, Overwrite overwrite = Overwrite::refuse);

// The seed, in locked memory. Throws VaultError "cannot unseal <path>: wrong key-encryption key
// or corrupted file" on authentication failure, or a message naming the path for a missing,
// unreadable or malformed file. Never modifies the file.
[[nodiscard]] LockedBuffer unseal_vault(const std::filesystem::path& vault_file, const Kek& kek);

}  // namespace oemlink::vault
