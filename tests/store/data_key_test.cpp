#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "core/store/secret_store.hpp"
#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::read_bytes;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kHex = "00112233445566778899AaBbCcDdEeFf0f1e2d3c4b5a69788796a5b4c3d2e1f0";

// Every test starts without OEMLINK_KEK and leaves the environment as it found it.
class DataKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("OEMLINK_KEK")) saved_ = v;
    unsetenv("OEMLINK_KEK");
  }
  void TearDown() override {
    if (saved_) {
      setenv("OEMLINK_KEK", saved_->c_str(), 1);
    } else {
      unsetenv("OEMLINK_KEK");
    }
  }

  // The error message from load_or_create_data_key, or "" if it succeeded.
  static std::string error_of(const fs::path& file) {
    try {
      load_or_create_data_key(file);
    } catch (const StoreError& e) {
      return e.what();
    }
    return "";
  }

  TempDir dir_;
  std::optional<std::string> saved_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

void write_file(const fs::path& p, const std::string& bytes, mode_t mode) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  ASSERT_EQ(chmod(p.c_str(), mode), 0);
}

TEST_F(DataKeyTest, CreatesA0600KeyFileAndItsParents) {
  const fs::path file = dir_.path() / "a" / "b" / "data.key";
  const auto key = load_or_create_data_key(file);
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(file.parent_path()), 0700u);
  const std::string bytes = read_bytes(file);
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(bytes, std::string(key.begin(), key.end()));
  EXPECT_NE(key, store::DataKey{}) << "all-zero key: RAND_bytes output not used";

  // Loading again returns the same key rather than regenerating it.
  EXPECT_EQ(load_or_create_data_key(file), key);
  // A different store directory gets a different key.
  EXPECT_NE(load_or_create_data_key(dir_.path() / "other.key"), key);
}

TEST_F(DataKeyTest, CreatesPrivateFileEvenUnderPermissiveUmask) {
  const mode_t old = umask(0);
  const fs::path file = dir_.path() / "data.key";
  load_or_create_data_key(file);
  umask(old);
  EXPECT_EQ(mode_of(file), 0600u);
}

TEST_F(DataKeyTest, RefusesKeyFilesReadableByGroupOrOthers) {
  const fs::path file = dir_.path() / "data.key";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    write_file(file, std::string(32, 'k'), mode);
    const std::string err = error_of(file);
    char expected[8];
    std::snprintf(expected, sizeof expected, "%04o", static_cast<unsigned>(mode));
    EXPECT_NE(err.find(file.string()), std::string::npos) << err;
    EXPECT_NE(err.find(expected), std::string::npos) << err;
    EXPECT_EQ(err.find("kkkk"), std::string::npos) << err;
  }
  write_file(file, std::string(32, 'k'), 0400);
  EXPECT_EQ(error_of(file), "");
}

TEST_F(DataKeyTest, RefusesKeyFilesOfTheWrongSize) {
  const fs::path file = dir_.path() / "data.key";
  for (size_t n : {0, 31, 33, 64}) {
    write_file(file, std::string(n, 'k'), 0600);
    const std::string err = error_of(file);
    EXPECT_NE(err.find(file.string()), std::string::npos) << err;
    EXPECT_NE(err.find("32 bytes"), std::string::npos) << err;
  }
}

TEST_F(DataKeyTest, RefusesADirectory) {
  const fs::path file = dir_.path() / "data.key";
  fs::create_directory(file);
  EXPECT_NE(error_of(file).find("not a regular file"), std::string::npos);
}

TEST_F(DataKeyTest, EnvironmentKeyWinsAndIsParsedAsHex) {
  setenv("OEMLINK_KEK", kHex, 1);
  const fs::path file = dir_.path() / "data.key";
  const auto key = load_or_create_data_key(file);
  EXPECT_FALSE(fs::exists(file)) << "no key file when OEMLINK_KEK is set";
  EXPECT_EQ(key[0], 0x00);
  EXPECT_EQ(key[1], 0x11);
  EXPECT_EQ(key[9], 0x99);
  EXPECT_EQ(key[10], 0xAA);
  EXPECT_EQ(key[15], 0xFF);
  EXPECT_EQ(key[31], 0xF0);
}

TEST_F(DataKeyTest, EnvironmentKeyOfWrongLengthIsRefusedWithoutEchoingIt) {
  const std::string full = kHex;
  for (const std::string& bad : {full.substr(0, 63), full + "0", full + full, std::string()}) {
    setenv("OEMLINK_KEK", bad.c_str(), 1);
    const std::string err = error_of(dir_.path() / "data.key");
    EXPECT_NE(err.find("OEMLINK_KEK"), std::string::npos) << err;
    EXPECT_NE(err.find("64 hex"), std::string::npos) << err;
    EXPECT_NE(err.find(std::to_string(bad.size())), std::string::npos) << err;
    if (!bad.empty()) {
      EXPECT_EQ(err.find(bad.substr(0, 12)), std::string::npos) << err;
    }
  }
}

TEST_F(DataKeyTest, EnvironmentKeyWithNonHexIsRefusedWithoutEchoingIt) {
  std::string bad = kHex;
  bad[40] = 'g';
  setenv("OEMLINK_KEK", bad.c_str(), 1);
  const std::string err = error_of(dir_.path() / "data.key");
  EXPECT_NE(err.find("OEMLINK_KEK"), std::string::npos) << err;
  EXPECT_NE(err.find("not a hex digit"), std::string::npos) << err;
  EXPECT_NE(err.find("41"), std::string::npos) << err;
  EXPECT_EQ(err.find(bad.substr(0, 12)), std::string::npos) << err;
  EXPECT_EQ(err.find(bad.substr(34, 12)), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_.path() / "data.key")) << "a bad KEK must not fall back to a file";
}

}  // namespace
}  // namespace oemlink::store
