// The outbox's and the secret store's data keys: 32 random bytes, kept on disk only sealed under
// the deployment's KEK (load_or_create_sealed_data_key).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "core/store/outbox_store.hpp"
#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::key_of;
using testing::TempDir;
namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// The error message of opening `p` under `kek`, or "" when it opens.
std::string error_of(const fs::path& p, const DataKey& kek) {
  try {
    (void)load_or_create_sealed_data_key(p, kek);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

TEST(SealedDataKey, CreatedPrivateAndReloaded) {
  TempDir dir;
  const fs::path p = dir.path() / "keys" / "outbox.key";
  const DataKey a = load_or_create_sealed_data_key(p, key_of(7)).get();
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_or_create_sealed_data_key(p, key_of(7)).get(), a);
  EXPECT_NE(a, DataKey{});
  // The file holds the key only sealed.
  std::string raw = testing::read_bytes(p);
  EXPECT_EQ(raw.find(std::string(reinterpret_cast<const char*>(a.data()), a.size())),
            std::string::npos);
  for (const auto& e : fs::directory_iterator(p.parent_path())) {
    EXPECT_EQ(e.path().filename(), "outbox.key") << "temporary file left behind";
  }
}

TEST(SealedDataKey, APurposeIsBoundIntoTheSealing) {
  TempDir dir;
  const fs::path p = dir.path() / "secrets.key";
  const DataKey a = load_or_create_sealed_data_key(p, key_of(7), "secrets").get();
  EXPECT_EQ(load_or_create_sealed_data_key(p, key_of(7), "secrets").get(), a);
  // The outbox's key file cannot stand in for the secret store's, or the other way round.
  EXPECT_THROW(load_or_create_sealed_data_key(p, key_of(7), "outbox"), StoreError);
}

TEST(SealedDataKey, WrongKekOrCorruptedFileSaysSo) {
  TempDir dir;
  const fs::path p = dir.path() / "outbox.key";
  load_or_create_sealed_data_key(p, key_of(7));
  const std::string expected =
      "cannot unseal " + p.string() + ": wrong key-encryption key or corrupted file";
  try {
    load_or_create_sealed_data_key(p, key_of(8));
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.what(), expected);
  }
  std::string raw = testing::read_bytes(p);
  raw[raw.size() / 2] ^= 1;
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << raw;
  }
  try {
    load_or_create_sealed_data_key(p, key_of(7));
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_EQ(e.what(), expected);
  }
}

TEST(SealedDataKey, ParentsArePrivateAndEachFileHasItsOwnKey) {
  TempDir dir;
  const fs::path p = dir.path() / "a" / "b" / "outbox.key";
  const DataKey a = load_or_create_sealed_data_key(p, key_of(7)).get();
  EXPECT_EQ(mode_of(dir.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "a" / "b"), 0700u);
  EXPECT_NE(load_or_create_sealed_data_key(dir.path() / "other.key", key_of(7)).get(), a);
}

TEST(SealedDataKey, PrivateEvenUnderAPermissiveUmask) {
  TempDir dir;
  const mode_t old = umask(0);
  const fs::path p = dir.path() / "keys" / "secrets.key";
  (void)load_or_create_sealed_data_key(p, key_of(7), "secrets");
  umask(old);
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_EQ(mode_of(p.parent_path()), 0700u);
}

TEST(SealedDataKey, RefusesADirectoryAndFilesOfTheWrongSize) {
  TempDir dir;
  const fs::path p = dir.path() / "outbox.key";
  fs::create_directory(p);
  const std::string not_regular = error_of(p, key_of(7));
  EXPECT_NE(not_regular.find(p.string()), std::string::npos) << not_regular;
  EXPECT_NE(not_regular.find("not a regular file"), std::string::npos) << not_regular;
  fs::remove(p);
  for (size_t n : {0, 31, 32, 60, 62, 5000}) {
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << std::string(n, 'k');
    }
    const std::string err = error_of(p, key_of(7));
    EXPECT_NE(err.find(p.string()), std::string::npos) << n << ": " << err;
    EXPECT_EQ(err.find("kkkk"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace oemlink::store
