#include "core/vault/sealed_seed.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/aead.hpp"
#include "core/common/hex.hpp"
#include "core/common/private_files.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "OEMLINK-VAULT\n";
constexpr uint8_t kFormatVersion = 1;
constexpr size_t kHeaderSize = kMagic.size() + 1;
constexpr size_t kFileSize = kHeaderSize + aead::kOverhead + kSeedSize;
// Seed files are 64 hex digits and a line ending; anything much bigger is not one.
constexpr size_t kMaxSeedFile = 128;

std::string header() {
  std::string h(kMagic);
  h.push_back(static_cast<char>(kFormatVersion));
  return h;
}

std::string err(int e) {
  return std::strerror(e);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads up to `limit` bytes into `out`; returns the number read (limit + 1 means "longer").
size_t read_up_to(int fd, uint8_t* out, size_t limit, const fs::path& path) {
  size_t got = 0;
  while (got <= limit) {
    const ssize_t n = ::read(fd, out + got, limit + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw VaultError("cannot read " + path.string() + ": " + err(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

void refuse_existing(const fs::path& vault_file) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(vault_file, ec))) {
    throw VaultError("vault " + vault_file.string() +
                     " already exists; replacing it would change every connection's key and "
                     "orphan the synthetic devices minted with it (pass --force to replace it "
                     "anyway)");
  }
}

}  // namespace

void write_vault(const fs::path& vault_file, std::span<const uint8_t> seed, const Kek& kek,
                 Overwrite overwrite) {
  if (seed.size() != kSeedSize) throw VaultError("a vault seed must be 32 bytes");
  if (overwrite == Overwrite::refuse) refuse_existing(vault_file);
  const std::string hdr = header();
  // aead::seal takes the plaintext as a string_view; it does not copy it.
  std::vector<uint8_t> blob = aead::seal(
      kek.get(), std::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()), hdr);
  std::vector<uint8_t> content(hdr.begin(), hdr.end());
  content.insert(content.end(), blob.begin(), blob.end());

  bool written = false;
  try {
    // IfExists::keep refuses atomically, closing the race with a concurrent `keys init`.
    written = write_private_file(
        vault_file, content, overwrite == Overwrite::allow ? IfExists::replace : IfExists::keep);
  } catch (const FileError& e) {
    throw VaultError(e.what());
  }
  if (!written) {
    refuse_existing(vault_file);
    throw VaultError("cannot create " + vault_file.string() + ": it appeared while being written");
  }
}

void create_random_vault(const fs::path& vault_file, const Kek& kek, Overwrite overwrite) {
  if (overwrite == Overwrite::refuse) refuse_existing(vault_file);
  LockedBuffer seed(kSeedSize);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    throw VaultError("cannot generate a seed: the OS random generator failed");
  }
  write_vault(vault_file, seed.span(), kek, overwrite);
}

void import_vault(const fs::path& vault_file, const fs::path& seed_file, const Kek& kek,
                  Overwrite overwrite) {
  if (overwrite == Overwrite::refuse) refuse_existing(vault_file);
  Fd fd(::open(seed_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    throw VaultError("cannot open seed file " + seed_file.string() + ": " + err(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw VaultError("seed file " + seed_file.string() + " is not a regular file");
  }
  LockedBuffer text(kMaxSeedFile + 1);
  const size_t n = read_up_to(fd.get(), text.data(), kMaxSeedFile, seed_file);
  if (n > kMaxSeedFile) {
    throw VaultError("seed file " + seed_file.string() +
                     " must hold exactly 64 hex characters (32 bytes); it is longer than " +
                     std::to_string(kMaxSeedFile) + " bytes");
  }
  LockedBuffer seed(kSeedSize);
  std::string why;
  if (!decode_hex_secret(std::string_view(reinterpret_cast<const char*>(text.data()), n),
                         std::span<uint8_t, kSeedSize>(seed.data(), kSeedSize), why)) {
    throw VaultError("seed file " + seed_file.string() + " " + why);
  }
  write_vault(vault_file, seed.span(), kek, overwrite);
}

LockedBuffer unseal_vault(const fs::path& vault_file, const Kek& kek) {
  Fd fd(::open(vault_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ENOENT) {
      throw VaultError("vault " + vault_file.string() +
                       " does not exist (create one with `oemlink keys init` or `oemlink keys "
                       "import`)");
    }
    throw VaultError("cannot open vault " + vault_file.string() + ": " + err(e));
  }
  std::array<uint8_t, kFileSize + 1> raw{};
  const size_t n = read_up_to(fd.get(), raw.data(), kFileSize, vault_file);
  const std::string hdr = header();
  if (n < kMagic.size() || std::memcmp(raw.data(), kMagic.data(), kMagic.size()) != 0) {
    throw VaultError(vault_file.string() +
                     " is not an oemlink vault file (no OEMLINK-VAULT magic)");
  }
  if (raw[kMagic.size()] != kFormatVersion) {
    throw VaultError("vault " + vault_file.string() + " has format version " +
                     std::to_string(raw[kMagic.size()]) + "; this oemlink reads version " +
                     std::to_string(kFormatVersion));
  }
  if (n != kFileSize) {
    throw VaultError("cannot unseal " + vault_file.string() + ": wrong size " + std::to_string(n) +
                     " bytes (expected " + std::to_string(kFileSize) + "); the file is corrupted");
  }
  LockedBuffer seed(kSeedSize);
  if (!aead::open_exact(kek.get(),
                        std::span<const uint8_t>(raw.data() + kHeaderSize, kFileSize - kHeaderSize),
                        hdr, seed.span())) {
    throw VaultError("cannot unseal " + vault_file.string() +
                     ": wrong key-encryption key or corrupted file");
  }
  return seed;
}

}  // namespace oemlink::vault
