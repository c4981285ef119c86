#include "core/vault/child_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "core/vault/key_vault.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::vault {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string claim_error(ChildRegistry& r, uint32_t child, const std::string& id) {
  try {
    r.claim(child, id);
  } catch (const VaultError& e) {
    return e.what();
  }
  return "";
}

TEST(ChildRegistry, ClaimIsIdempotentForTheSameConnection) {
  test::TempDir dir;
  ChildRegistry r(dir / "data/keys.db");
  EXPECT_EQ(r.next_free(), 0u);
  r.claim(1, "car-1");
  r.claim(1, "car-1");
  r.claim(5, "car-5");
  EXPECT_EQ(r.next_free(), 6u);
  ASSERT_TRUE(r.owner(1).has_value());
  EXPECT_EQ(r.owner(1)->connection_id, "car-1");
  EXPECT_GT(r.owner(1)->created_ms, 0);
  EXPECT_FALSE(r.owner(2).has_value());
  EXPECT_EQ(r.list().size(), 2u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "data/keys.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(ChildRegistry, NeverReusesAChildAcrossReopenEvenForARemovedConnection) {
  test::TempDir dir;
  {
    ChildRegistry r(dir / "keys.db");
    r.claim(7, "old-car");
  }
  // old-car has since left the config; a new car asks for its number.
  ChildRegistry r(dir / "keys.db");
  EXPECT_THAT(claim_error(r, 7, "new-car"),
              AllOf(HasSubstr("key child 7"), HasSubstr("'new-car'"), HasSubstr("'old-car'"),
                    HasSubstr("never reused")));
  EXPECT_EQ(r.owner(7)->connection_id, "old-car");
  EXPECT_EQ(r.next_free(), 8u);
  EXPECT_NO_THROW(r.claim(8, "new-car"));
}

TEST(ChildRegistry, AConnectionCannotSwitchChild) {
  test::TempDir dir;
  ChildRegistry r(dir / "keys.db");
  r.claim(2, "car");
  EXPECT_THAT(claim_error(r, 3, "car"),
              AllOf(HasSubstr("'car' already signs with key child 2"), HasSubstr("to 3")));
  EXPECT_FALSE(r.owner(3).has_value());
}

TEST(ChildRegistry, RefusesBadInput) {
  test::TempDir dir;
  ChildRegistry r(dir / "keys.db");
  EXPECT_THAT(claim_error(r, 0x8000'0000u, "car"), HasSubstr("out of range"));
  EXPECT_THAT(claim_error(r, 1, ""), HasSubstr("connection id is empty"));
  EXPECT_THROW(ChildRegistry(dir.path()), VaultError);  // a directory
}

TEST(ChildRegistry, ARetiredChildIsNeverClaimedAgain) {
  test::TempDir dir;
  ChildRegistry r(dir / "keys.db");
  r.claim(3, "car-3");
  r.claim(4, "car-4");
  r.retire(3);
  r.retire(3);  // idempotent; keeps the first retirement time
  EXPECT_GT(r.owner(3)->retired_ms, 0);
  EXPECT_EQ(r.owner(4)->retired_ms, 0);
  EXPECT_THAT(claim_error(r, 3, "car-3"), AllOf(HasSubstr("key child 3"), HasSubstr("retired")));
  EXPECT_EQ(r.active_children(), std::vector<uint32_t>{4});
  EXPECT_EQ(r.claimed_count(), 2u);
  EXPECT_THROW(r.retire(9), VaultError);
}

TEST(ChildRegistry, RemembersTheFirstSeedFingerprint) {
  test::TempDir dir;
  {
    ChildRegistry r(dir / "keys.db");
    EXPECT_FALSE(r.seed_fingerprint().has_value());
    r.set_seed_fingerprint("0xAAA");
    r.set_seed_fingerprint("0xBBB");  // never overwritten
  }
  ChildRegistry r(dir / "keys.db");
  EXPECT_EQ(r.seed_fingerprint(), "0xAAA");
}

// A registry written before retirement and fingerprints keeps its claims when reopened.
TEST(ChildRegistry, UpgradesAnOlderRegistryInPlace) {
  test::TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "keys.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE children(child INTEGER PRIMARY KEY, connection_id TEXT "
                         "UNIQUE NOT NULL, created_ms INTEGER NOT NULL);"
                         "INSERT INTO children VALUES(2, 'old-car', 1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ChildRegistry r(dir / "keys.db");
  EXPECT_EQ(r.owner(2)->connection_id, "old-car");
  EXPECT_EQ(r.active_children(), std::vector<uint32_t>{2});
  r.retire(2);
  EXPECT_TRUE(r.active_children().empty());
}

}  // namespace
}  // namespace oemlink::vault
