// The registry-enforcing vault that open_vault returns in process (and keyd serves): it answers
// only for claimed children, refuses another seed over existing claims, and refuses to let a
// missing vault pass while children are claimed.
#include "core/vault/claimed_child_vault.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "core/vault/sealed_seed.hpp"
#include "core/vault/vault_factory.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::vault {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

LockedBuffer dimo_seed() {
  LockedBuffer seed(32);
  const auto bytes = test::unhex(test::kDimoSeedHex);
  std::memcpy(seed.data(), bytes.data(), 32);
  return seed;
}

std::string vault_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const VaultError& e) {
    return e.what();
  }
  return "";
}

TEST(ClaimedChildVault, AnswersOnlyForClaimedActiveChildren) {
  test::TempDir dir;
  ClaimedChildVault vault(dimo_seed(), 16, dir / "keys.db", dir / "vault.sealed");
  EXPECT_EQ(vault.fingerprint(), test::kDimoAddresses[0]);
  const crypto::Hash32 h = crypto::keccak256("x");
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(424242, h); }),
              AllOf(HasSubstr("key child 424242"), HasSubstr("not claimed")));
  std::vector<std::pair<uint32_t, std::string_view>> claims = {{1, "car-1"}, {2, "car-2"}};
  ASSERT_TRUE(vault.claim_all(claims).empty());
  EXPECT_EQ(crypto::to_checksum_address(vault.address(1)), test::kDimoAddresses[1]);
  const auto who = crypto::recover_address(h, vault.sign_hash(2, h));
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(crypto::to_checksum_address(*who), test::kDimoAddresses[2]);
  vault.retire(2);
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(2, h); }),
              AllOf(HasSubstr("'car-2'"), HasSubstr("retired")));
  // Reopened: the registry, not the process, remembers.
  ClaimedChildVault again(dimo_seed(), 16, dir / "keys.db", dir / "vault.sealed");
  EXPECT_NO_THROW((void)again.sign_hash(1, h));
  EXPECT_THAT(vault_error([&] { (void)again.sign_hash(2, h); }), HasSubstr("retired"));
}

TEST(ClaimedChildVault, RefusesASeedOtherThanTheRegistrys) {
  test::TempDir dir;
  {
    ClaimedChildVault vault(dimo_seed(), 16, dir / "keys.db", dir / "vault.sealed");
    std::vector<std::pair<uint32_t, std::string_view>> claims = {{0, "car-0"}};
    ASSERT_TRUE(vault.claim_all(claims).empty());
  }
  LockedBuffer other(32);
  std::memset(other.data(), 7, 32);
  EXPECT_THAT(vault_error([&] {
                ClaimedChildVault v(std::move(other), 16, dir / "keys.db", dir / "vault.sealed");
              }),
              AllOf(HasSubstr((dir / "vault.sealed").string()), HasSubstr("is not the one"),
                    HasSubstr(test::kDimoAddresses[0]), HasSubstr("Restore"),
                    HasSubstr("never create a new seed")));
}

// open_vault in process: a vault file missing while the registry holds claims is reported as
// exactly that, not as a file that cannot be opened.
TEST(ClaimedChildVault, FactoryRefusesAMissingVaultWhileChildrenAreClaimed) {
  test::TempDir dir;
  test::ScopedEnv env("OEMLINK_TEST_KEK", test::kKekHex);
  VaultConfig cfg;
  cfg.file = dir / "vault.sealed";
  cfg.kek = {.kind = KekSourceConfig::Kind::env, .value = "OEMLINK_TEST_KEK"};
  cfg.registry = dir / "keys.db";
  {
    const Kek kek = load_kek(cfg.kek);
    test::write_file(dir / "seed", test::kDimoSeedHex);
    import_vault(cfg.file, dir / "seed", kek);
    KeyVaultPtr vault = open_vault(cfg);
    std::vector<std::pair<uint32_t, std::string_view>> claims = {{0, "a"}, {1, "b"}, {2, "c"}};
    ASSERT_TRUE(vault->claim_all(claims).empty());
  }
  fs::remove(cfg.file);
  EXPECT_THAT(vault_error([&] { (void)open_vault(cfg); }),
              AllOf(HasSubstr("is missing while 3 key children are claimed"),
                    HasSubstr(cfg.registry.string()), HasSubstr(test::kDimoAddresses[0]),
                    HasSubstr("from backup")));
}

}  // namespace
}  // namespace oemlink::vault
