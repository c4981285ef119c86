// load_or_create_sealed_data_key: the outbox's data key, kept on disk only sealed under the KEK,
// so the outbox is unreadable without the deployment's key-encryption key.
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/common/aead.hpp"
#include "core/common/locked_buffer.hpp"
#include "core/common/private_files.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/store/outbox_store.hpp"

namespace oemlink::store {
namespace {

namespace fs = std::filesystem;

// Associated data names what the key is for, so one store's sealed key file cannot be swapped in
// for another's.
std::string aad_for(std::string_view purpose) {
  return "oemlink " + std::string(purpose) + " data key";
}
// A sealed 32-byte key is 61 bytes; anything far larger is not ours.
constexpr off_t kMaxFileSize = 4096;

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw StoreError(what + " " + path.string() + ": " + std::strerror(err));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Returns false when the file does not exist.
bool read_sealed(const fs::path& path, std::vector<uint8_t>& out) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return false;
    fail(path, "cannot open sealed data key", errno);
  }
  struct stat st {};
  if (fstat(f.fd, &st) != 0) fail(path, "cannot stat sealed data key", errno);
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxFileSize) {
    throw StoreError("sealed data key " + path.string() + " is not a regular file of a few bytes");
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "cannot read sealed data key", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return true;
}

// Writes a new sealed key; returns false when another process created the file first. Never
// replaces an existing file: a concurrent creator's key may already be sealing records, and
// replacing it would make them unreadable.
bool create_sealed(const fs::path& path, const DataKey& kek, DataKey& key,
                   std::string_view purpose) {
  // `key` is locked memory of the caller's; a throw leaves it to the caller's destructor.
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw StoreError("cannot generate the " + std::string(purpose) + " data key for " +
                     path.string());
  }
  const std::vector<uint8_t> sealed =
      aead::seal(kek, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                 aad_for(purpose));

  try {
    return write_private_file(path, sealed, IfExists::keep);
  } catch (const FileError& e) {
    throw StoreError(std::string("sealed data key: ") + e.what());
  }
}

// Opens `sealed` under `kek` straight into `key` (locked memory of the caller's).
bool unseal_into(const DataKey& kek, const std::vector<uint8_t>& sealed, std::string_view purpose,
                 DataKey& key) {
  return aead::open_exact(kek, sealed, aad_for(purpose), key);
}

}  // namespace

ResealOutcome reseal_data_key(const fs::path& path, const DataKey& old_kek, const DataKey& new_kek,
                              std::string_view purpose) {
  std::vector<uint8_t> sealed;
  if (!read_sealed(path, sealed)) return ResealOutcome::no_file;
  LockedDataKey key;
  if (unseal_into(new_kek, sealed, purpose, key.get()))
    return ResealOutcome::already_sealed_under_new_kek;
  if (!unseal_into(old_kek, sealed, purpose, key.get())) {
    throw SealedKeyMismatch("cannot unseal " + path.string() +
                            " with the old KEK given (nor with the configured data KEK): wrong "
                            "key-encryption key or corrupted file");
  }
  const std::vector<uint8_t> resealed = aead::seal(
      new_kek, std::string_view(reinterpret_cast<const char*>(key.get().data()), key.get().size()),
      aad_for(purpose));
  try {
    (void)write_private_file(path, resealed, IfExists::replace);
  } catch (const FileError& e) {
    throw StoreError(std::string("cannot reseal data key: ") + e.what());
  }
  return ResealOutcome::resealed;
}

LockedDataKey load_or_create_sealed_data_key(const fs::path& path, const DataKey& kek,
                                             std::string_view purpose) {
  LockedDataKey key;
  // Two attempts: another process may create the file between our read and our create.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<uint8_t> sealed;
    if (read_sealed(path, sealed)) {
      if (!unseal_into(kek, sealed, purpose, key.get())) {
        throw SealedKeyMismatch("cannot unseal " + path.string() +
                                ": wrong key-encryption key or corrupted file");
      }
      return key;
    }
    if (create_sealed(path, kek, key.get(), purpose)) return key;
    secure_wipe(key.get());
  }
  throw StoreError("sealed data key " + path.string() + " keeps appearing and disappearing");
}

}  // namespace oemlink::store
