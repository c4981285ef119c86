#include "core/vault/sealed_seed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "core/vault/key_vault.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

Kek kek_of(const char* hex) {
  test::ScopedEnv env("OEMLINK_TEST_KEK", hex);
  return load_kek({.kind = KekSourceConfig::Kind::env, .value = "OEMLINK_TEST_KEK"});
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

class SealedSeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(seed_file_, std::string(test::kDimoSeedHex) + "\n", 0600);
  }

  std::string error_of(auto&& f) {
    try {
      f();
    } catch (const VaultError& e) {
      return e.what();
    }
    return "";
  }

  test::TempDir dir_;
  fs::path vault_ = dir_ / "sub/dir/vault.sealed";
  fs::path seed_file_ = dir_ / "seed.hex";
  Kek kek_ = kek_of(test::kKekHex);
};

TEST_F(SealedSeedTest, ImportThenUnsealGivesTheSeedBack) {
  import_vault(vault_, seed_file_, kek_);
  const LockedBuffer seed = unseal_vault(vault_, kek_);
  EXPECT_EQ(std::vector<uint8_t>(seed.data(), seed.data() + seed.size()),
            test::unhex(test::kDimoSeedHex));
}

TEST_F(SealedSeedTest, FileIsPrivateSmallAndHoldsNoSeedBytes) {
  import_vault(vault_, seed_file_, kek_);
  struct stat st {};
  ASSERT_EQ(::stat(vault_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(vault_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  const std::string raw = test::read_file(vault_);
  EXPECT_EQ(raw.size(), 76u);
  EXPECT_TRUE(raw.starts_with("OEMLINK-VAULT\n\x01"));
  const auto seed = test::unhex(test::kDimoSeedHex);
  const std::string seed_bytes(seed.begin(), seed.end());
  EXPECT_EQ(raw.find(seed_bytes), std::string::npos);
  // Not even an 8-byte stretch of it, in either order of bytes.
  for (size_t i = 0; i + 8 <= seed_bytes.size(); ++i) {
    EXPECT_EQ(raw.find(seed_bytes.substr(i, 8)), std::string::npos) << "at " << i;
  }
  EXPECT_EQ(raw.find(test::kDimoSeedHex), std::string::npos);
  EXPECT_EQ(upper(raw).find(upper(test::kDimoSeedHex)), std::string::npos);
  // No temp file left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(vault_.parent_path()), {}), 1);
}

TEST_F(SealedSeedTest, WrongKekIsAClearErrorAndTouchesNothing) {
  import_vault(vault_, seed_file_, kek_);
  const std::string before = test::read_file(vault_);
  const auto mtime = fs::last_write_time(vault_);
  const Kek other = kek_of(test::kOtherKekHex);
  EXPECT_EQ(error_of([&] { (void)unseal_vault(vault_, other); }),
            "cannot unseal " + vault_.string() + ": wrong key-encryption key or corrupted file");
  EXPECT_EQ(test::read_file(vault_), before);
  EXPECT_EQ(fs::last_write_time(vault_), mtime);
}

TEST_F(SealedSeedTest, AnyFlippedByteIsDetected) {
  import_vault(vault_, seed_file_, kek_);
  const std::string good = test::read_file(vault_);
  for (size_t i = 15; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x01;
    test::write_file(vault_, bad, 0600);
    EXPECT_THAT(error_of([&] { (void)unseal_vault(vault_, kek_); }),
                AllOf(HasSubstr("cannot unseal"), HasSubstr("corrupted")))
        << "byte " << i;
  }
  std::string bad_version = good;
  bad_version[14] = 2;
  test::write_file(vault_, bad_version, 0600);
  EXPECT_THAT(error_of([&] { (void)unseal_vault(vault_, kek_); }), HasSubstr("format version 2"));
  test::write_file(vault_, good.substr(0, 40), 0600);
  EXPECT_THAT(error_of([&] { (void)unseal_vault(vault_, kek_); }), HasSubstr("wrong size"));
  test::write_file(vault_, "hello", 0600);
  EXPECT_THAT(error_of([&] { (void)unseal_vault(vault_, kek_); }),
              HasSubstr("is not an oemlink vault file"));
}

TEST_F(SealedSeedTest, MissingVaultSaysHowToCreateOne) {
  EXPECT_THAT(error_of([&] { (void)unseal_vault(vault_, kek_); }),
              AllOf(HasSubstr(vault_.string()), HasSubstr("oemlink keys init")));
}

TEST_F(SealedSeedTest, RefusesToReplaceAVaultUnlessAllowed) {
  create_random_vault(vault_, kek_);
  const std::string first = test::read_file(vault_);
  EXPECT_THAT(error_of([&] { create_random_vault(vault_, kek_); }),
              AllOf(HasSubstr("already exists"), HasSubstr("--force")));
  EXPECT_THAT(error_of([&] { import_vault(vault_, seed_file_, kek_); }),
              HasSubstr("already exists"));
  EXPECT_EQ(test::read_file(vault_), first);

  import_vault(vault_, seed_file_, kek_, Overwrite::allow);
  EXPECT_NE(test::read_file(vault_), first);
  const LockedBuffer seed = unseal_vault(vault_, kek_);
  EXPECT_EQ(std::vector<uint8_t>(seed.data(), seed.data() + 32), test::unhex(test::kDimoSeedHex));
  EXPECT_EQ(std::distance(fs::directory_iterator(vault_.parent_path()), {}), 1);
}

TEST_F(SealedSeedTest, RandomSeedsDiffer) {
  create_random_vault(dir_ / "a", kek_);
  create_random_vault(dir_ / "b", kek_);
  const LockedBuffer a = unseal_vault(dir_ / "a", kek_);
  const LockedBuffer b = unseal_vault(dir_ / "b", kek_);
  EXPECT_FALSE(std::equal(a.data(), a.data() + 32, b.data()));
}

TEST_F(SealedSeedTest, ImportRefusesAnythingButSixtyFourHexWithoutEchoingIt) {
  const std::string secretish = "deadbeefcafe";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string(test::kDimoSeedHex).substr(0, 63), "63 characters"},
      {std::string(test::kDimoSeedHex) + "00", "66 characters"},
      {std::string(test::kDimoSeedHex) + "\n\n", "65 characters"},
      {secretish + std::string(52, 'x'), "character 13 is not a hex digit"},
      {"0x" + std::string(test::kDimoSeedHex).substr(2), "character 2 is not a hex digit"},
      {std::string(500, 'a'), "longer than"},
  };
  for (const auto& [content, expected] : cases) {
    test::write_file(seed_file_, content, 0600);
    const std::string msg = error_of([&] { import_vault(vault_, seed_file_, kek_); });
    EXPECT_THAT(msg, AllOf(HasSubstr("seed file " + seed_file_.string()), HasSubstr(expected),
                           Not(HasSubstr(secretish)), Not(HasSubstr(test::kDimoSeedHex))))
        << content;
    EXPECT_FALSE(fs::exists(vault_));
  }
}

}  // namespace
}  // namespace oemlink::vault
