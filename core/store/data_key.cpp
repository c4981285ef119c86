// load_or_create_data_key: where the store's data key comes from.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/store/private_fs.hpp"
#include "core/store/secret_store.hpp"

namespace oemlink::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEnvName = "OEMLINK_KEK";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Messages describe what is wrong (length, position) but never echo the characters: a KEK pasted
// into the wrong variable must not end up in a log.
DataKey parse_env_key(std::string_view hex) {
  if (hex.size() != 2 * sizeof(DataKey)) {
    throw StoreError(std::string(kEnvName) +
                     " must be exactly 64 hex characters (32 bytes); it has " +
                     std::to_string(hex.size()) + " characters");
  }
  DataKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    int hi = hex_digit(hex[2 * i]);
    int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(key.data(), key.size());
      size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      throw StoreError(std::string(kEnvName) + " must be 64 hex characters; character " +
                       std::to_string(pos + 1) + " is not a hex digit");
    }
    key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// Reads an existing key file; returns false if it does not exist.
bool read_key_file(const fs::path& file, DataKey& key) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw StoreError("cannot open key file " + file.string() + ": " + errno_text(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw StoreError("cannot stat key file " + file.string() + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw StoreError("key file " + file.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    throw StoreError("key file " + file.string() + " has mode " + mode_string(st.st_mode) +
                     "; it must not be accessible by group or others (chmod 600 it)");
  }
  if (st.st_size != static_cast<off_t>(key.size())) {
    throw StoreError("key file " + file.string() + " must be exactly 32 bytes; it has " +
                     std::to_string(st.st_size));
  }
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      OPENSSL_cleanse(key.data(), key.size());
      throw StoreError("cannot read key file " + file.string() + ": " +
                       (err ? errno_text(err) : std::string("unexpected end of file")));
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

// Creates the key file; returns false if another process created it first.
bool create_key_file(const fs::path& file, DataKey& key) {
  create_private_parent_dirs(file);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw StoreError("cannot create key file " + file.string() + ": " + errno_text(errno));
  }
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(file.c_str());
    OPENSSL_cleanse(key.data(), key.size());
    throw StoreError(what + " key file " + file.string() + ": " + errno_text(err));
  };
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) fail("cannot generate", EIO);
  size_t put = 0;
  while (put < key.size()) {
    ssize_t n = ::write(fd, key.data() + put, key.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", n < 0 ? errno : EIO);
    put += static_cast<size_t>(n);
  }
  // Losing the key loses every secret, so it must be on disk before any store uses it.
  if (fsync(fd) != 0) fail("cannot fsync", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(file.c_str());
    OPENSSL_cleanse(key.data(), key.size());
    throw StoreError("cannot close key file " + file.string() + ": " + errno_text(err));
  }
  sync_parent_dir(file);
  return true;
}

}  // namespace

DataKey load_or_create_data_key(const fs::path& key_file) {
  if (const char* env = std::getenv(kEnvName); env != nullptr) return parse_env_key(env);
  DataKey key{};
  // Two attempts: a concurrent process may create the file between our read and our create.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (read_key_file(key_file, key)) return key;
    if (create_key_file(key_file, key)) return key;
  }
  throw StoreError("key file " + key_file.string() + " keeps appearing and disappearing");
}

void wipe(DataKey& key) noexcept {
  OPENSSL_cleanse(key.data(), key.size());
}

}  // namespace oemlink::store
