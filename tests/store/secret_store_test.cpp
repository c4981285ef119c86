#include "core/store/secret_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using namespace std::literals;
using testing::file_contains;
using testing::key_of;
using testing::TempDir;
namespace fs = std::filesystem;
using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;

// The shared raw connection, plus addressing a stored value by connection and key.
class RawDb : public testing::RawDb {
 public:
  using testing::RawDb::flip;
  using testing::RawDb::RawDb;
  int64_t rowid(std::string_view conn, std::string_view key) {
    return count("SELECT rowid FROM secrets WHERE connection='" + std::string(conn) +
                 "' AND key='" + std::string(key) + "'");
  }
  int flip(std::string_view conn, std::string_view key, int offset, uint8_t mask = 0x01) {
    return flip("secrets", "value", rowid(conn, key), offset, mask);
  }
};

class SecretStoreTest : public ::testing::Test {
 protected:
  fs::path db_path() const { return dir_.path() / "state" / "secrets.db"; }
  std::unique_ptr<SecretStore> open(uint8_t seed = 1) {
    return std::make_unique<SecretStore>(db_path(), key_of(seed));
  }
  static std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const StoreError& e) {
      return e.what();
    }
    return "";
  }

  TempDir dir_;
};

TEST_F(SecretStoreTest, RoundTripsAndOverwrites) {
  auto s = open();
  EXPECT_EQ(s->get("car-1", "refresh"), std::nullopt);
  s->put("car-1", Pairs{{"access", "a1"}, {"refresh", "r1"}, {"empty", ""}});
  EXPECT_EQ(s->get("car-1", "access"), "a1");
  EXPECT_EQ(s->get("car-1", "refresh"), "r1");
  EXPECT_EQ(s->get("car-1", "empty"), "");
  EXPECT_EQ(s->get("car-2", "access"), std::nullopt);

  s->put("car-1", Pairs{{"refresh", "r2"}});
  EXPECT_EQ(s->get("car-1", "refresh"), "r2");
  EXPECT_EQ(s->get("car-1", "access"), "a1");

  const std::string binary("\0\xff\x01 token", 9);
  s->put("car-2", Pairs{{"blob", binary}});
  EXPECT_EQ(s->get("car-2", "blob"), binary);
}

TEST_F(SecretStoreTest, EraseConnectionRemovesOnlyThatConnection) {
  auto s = open();
  s->put("car-1", Pairs{{"access", "a1"}, {"refresh", "r1"}});
  s->put("car-2", Pairs{{"access", "a2"}});
  s->erase_connection("car-1");
  EXPECT_EQ(s->get("car-1", "access"), std::nullopt);
  EXPECT_EQ(s->get("car-1", "refresh"), std::nullopt);
  EXPECT_EQ(s->get("car-2", "access"), "a2");
  s->erase_connection("never-existed");
}

TEST_F(SecretStoreTest, AdoptMovesEveryValueResealedUnlessTheTargetHoldsSecrets) {
  auto s = open();
  s->put("conn:car-1", Pairs{{"access", "a1"}, {"refresh", "r1"}});
  s->put("conn:car-2", Pairs{{"refresh", "old"}});
  s->put("driver:b/conn:car-2", Pairs{{"refresh", "new"}});
  EXPECT_EQ(s->adopt("conn:car-1", "driver:a/conn:car-1"), 2u);
  EXPECT_EQ(s->get("driver:a/conn:car-1", "access"), "a1");
  EXPECT_EQ(s->get("driver:a/conn:car-1", "refresh"), "r1");
  EXPECT_EQ(s->get("conn:car-1", "refresh"), std::nullopt);
  // Newer secrets are never overwritten by old ones.
  EXPECT_EQ(s->adopt("conn:car-2", "driver:b/conn:car-2"), 0u);
  EXPECT_EQ(s->get("driver:b/conn:car-2", "refresh"), "new");
  EXPECT_EQ(s->adopt("conn:none", "driver:a/conn:none"), 0u);
}

TEST_F(SecretStoreTest, RejectsAmbiguousNames) {
  auto s = open();
  EXPECT_THROW(s->put("car\0x"sv, Pairs{{"k", "v"}}), StoreError);
  EXPECT_THROW(s->put("car", Pairs{{"k\0x"sv, "v"}}), StoreError);
  EXPECT_THROW(s->put("", Pairs{{"k", "v"}}), StoreError);
  EXPECT_THROW(s->get("car", ""), StoreError);
}

TEST_F(SecretStoreTest, ValuesSurviveReopen) {
  open()->put("car-1", Pairs{{"access", "a1"}, {"refresh", "r1"}});
  auto s = open();
  EXPECT_EQ(s->get("car-1", "access"), "a1");
  EXPECT_EQ(s->get("car-1", "refresh"), "r1");
}

TEST_F(SecretStoreTest, DatabaseFilesArePrivate) {
  const mode_t old = umask(022);
  auto s = open();
  s->put("car-1", Pairs{{"access", "a1"}});
  umask(old);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    const std::string p = db_path().string() + suffix;
    ASSERT_EQ(stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 077, 0u) << p;
  }
}

TEST_F(SecretStoreTest, WrongKeyIsRefusedAtOpenWithAClearMessage) {
  open(1)->put("car-1", Pairs{{"refresh", "r1"}});
  const std::string err = error_of([&] { SecretStore s(db_path(), key_of(2)); });
  EXPECT_NE(err.find("data key does not match the one this store was created with"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(db_path().string()), std::string::npos) << err;
  // The right key still works afterwards: the failed open changed nothing.
  EXPECT_EQ(open(1)->get("car-1", "refresh"), "r1");
}

TEST_F(SecretStoreTest, MissingKeyCheckOnANonEmptyStoreIsRefused) {
  open(1)->put("car-1", Pairs{{"refresh", "r1"}});
  RawDb(db_path()).exec("DELETE FROM meta");
  EXPECT_NE(error_of([&] { open(2); }).find("no key check value"), std::string::npos);
}

TEST_F(SecretStoreTest, NotADatabaseNamesThePath) {
  fs::create_directories(db_path().parent_path());
  std::ofstream(db_path()) << std::string(4096, 'x');
  const std::string err = error_of([&] { open(); });
  EXPECT_NE(err.find(db_path().string()), std::string::npos) << err;
}

TEST_F(SecretStoreTest, TamperedCiphertextThrowsInsteadOfReturningGarbage) {
  auto s = open();
  const std::string value = "refresh-token-that-must-not-leak";
  s->put("car-1", Pairs{{"refresh", value}});
  RawDb raw(db_path());
  // Version byte, nonce, ciphertext, tag: each flip must be caught and undoing it must heal.
  for (int offset : {0, 1, 12, 13, 20, -16, -1}) {
    SCOPED_TRACE(offset);
    raw.flip("car-1", "refresh", offset, 0x80);
    const std::string err = error_of([&] { (void)s->get("car-1", "refresh"); });
    EXPECT_NE(err.find("failed authentication"), std::string::npos) << err;
    EXPECT_EQ(err.find(value), std::string::npos) << err;
    raw.flip("car-1", "refresh", offset, 0x80);
    EXPECT_EQ(s->get("car-1", "refresh"), value);
  }
  raw.exec("UPDATE secrets SET value = substr(value, 1, length(value) - 1)");
  EXPECT_THROW((void)s->get("car-1", "refresh"), StoreError);
  raw.exec("UPDATE secrets SET value = x''");
  EXPECT_THROW((void)s->get("car-1", "refresh"), StoreError);
}

TEST_F(SecretStoreTest, RowMovedToAnotherConnectionOrKeyFailsAuthentication) {
  auto s = open();
  s->put("victim", Pairs{{"access", "victim-access"}, {"refresh", "victim-refresh"}});
  s->put("attacker", Pairs{{"refresh", "attacker-refresh"}});
  RawDb raw(db_path());
  // Copy the victim's refresh token over the attacker's own row...
  raw.exec(
      "UPDATE secrets SET value = (SELECT value FROM secrets WHERE connection='victim' AND "
      "key='refresh') WHERE connection='attacker' AND key='refresh'");
  EXPECT_THROW((void)s->get("attacker", "refresh"), StoreError);
  // ...or rename the victim's row, or swap one key's value into another key.
  raw.exec("UPDATE secrets SET connection='thief' WHERE connection='victim' AND key='refresh'");
  EXPECT_THROW((void)s->get("thief", "refresh"), StoreError);
  raw.exec("UPDATE secrets SET key='refresh' WHERE connection='victim' AND key='access'");
  EXPECT_THROW((void)s->get("victim", "refresh"), StoreError);
}

TEST_F(SecretStoreTest, FailureMidTransactionLeavesEveryPairUntouched) {
  auto s = open();
  s->put("car-1", Pairs{{"access", "old-access"}, {"refresh", "old-refresh"}});
  // Abort the transaction on the third row, after the first two were already written in it.
  RawDb(db_path()).exec(
      "CREATE TRIGGER inject BEFORE INSERT ON secrets WHEN NEW.key = 'poison' "
      "BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const std::string err = error_of([&] {
    s->put("car-1", Pairs{{"access", "new-access"}, {"refresh", "new-refresh"}, {"poison", "x"}});
  });
  EXPECT_NE(err.find("injected fault"), std::string::npos) << err;
  EXPECT_EQ(s->get("car-1", "access"), "old-access");
  EXPECT_EQ(s->get("car-1", "refresh"), "old-refresh");
  EXPECT_EQ(s->get("car-1", "poison"), std::nullopt);
  EXPECT_EQ(open()->get("car-1", "refresh"), "old-refresh") << "also as seen from a new connection";

  // No transaction was left open: the next put commits normally.
  RawDb(db_path()).exec("DROP TRIGGER inject");
  s->put("car-1", Pairs{{"access", "new-access"}, {"refresh", "new-refresh"}});
  EXPECT_EQ(open()->get("car-1", "refresh"), "new-refresh");
}

TEST_F(SecretStoreTest, ProcessKilledMidTransactionLeavesEveryPairUntouched) {
  open()->put("car-1", Pairs{{"access", "old-access"}, {"refresh", "old-refresh"}});
  // A trigger that keeps the third insert busy for far longer than the test waits, so the child
  // is SIGKILLed while its transaction holds the two new tokens but has not committed.
  {
    RawDb raw(db_path());
    raw.exec("CREATE TABLE pad(x)");
    raw.exec(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) "
        "INSERT INTO pad SELECT i FROM c");
    raw.exec(
        "CREATE TRIGGER slow BEFORE INSERT ON secrets WHEN NEW.key = 'slow' "
        "BEGIN SELECT count(*) FROM pad a, pad b, pad c; END");
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    SecretStore s(db_path(), key_of(1));
    (void)!write(ready[1], "x", 1);
    try {
      s.put("car-1", Pairs{{"access", "new-access"}, {"refresh", "new-refresh"}, {"slow", "x"}});
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  std::this_thread::sleep_for(300ms);
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "put() finished before the kill; the test proved nothing";

  auto s = open();
  EXPECT_EQ(s->get("car-1", "access"), "old-access");
  EXPECT_EQ(s->get("car-1", "refresh"), "old-refresh");
  EXPECT_EQ(s->get("car-1", "slow"), std::nullopt);
}

TEST_F(SecretStoreTest, CommittedPutSurvivesProcessDeathWithoutDestructors) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      auto* s = new SecretStore(db_path(), key_of(1));  // deliberately never destroyed
      s->put("car-1", Pairs{{"access", "a-crash"}, {"refresh", "r-crash"}});
    } catch (...) {
      code = 3;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(db_path().string() + "-wal")) << "child never closed the database";
  auto s = open();
  EXPECT_EQ(s->get("car-1", "access"), "a-crash");
  EXPECT_EQ(s->get("car-1", "refresh"), "r-crash");
}

TEST_F(SecretStoreTest, DatabaseFilesNeverContainPlaintext) {
  const std::string old_value = "OLDSECRET-9f3c2a7e51d84b06";
  const std::string value = "NEWSECRET-5b8e1d0c72fa4396";
  const std::string wal = db_path().string() + "-wal";
  const std::string shm = db_path().string() + "-shm";
  {
    auto s = open();
    s->put("car-plain-check", Pairs{{"refresh", old_value}});
    s->put("car-plain-check", Pairs{{"refresh", value}});
    ASSERT_TRUE(fs::exists(wal));
    // Sanity: the scan does see stored bytes (connection ids are not secret).
    EXPECT_TRUE(file_contains(wal, "car-plain-check"));
    for (const std::string& p : {db_path().string(), wal, shm}) {
      EXPECT_FALSE(file_contains(p, value)) << p;
      EXPECT_FALSE(file_contains(p, old_value)) << p;
    }
  }
  // After close everything is checkpointed into the main file.
  EXPECT_TRUE(file_contains(db_path(), "car-plain-check"));
  for (const std::string& p : {db_path().string(), wal, shm}) {
    if (!fs::exists(p)) continue;
    EXPECT_FALSE(file_contains(p, value)) << p;
    EXPECT_FALSE(file_contains(p, old_value)) << p;
  }
}

TEST_F(SecretStoreTest, ConcurrentPutAndGetFromFourThreads) {
  auto s = open();
  constexpr int kThreads = 4;
  constexpr int kRounds = 60;
  std::atomic<int> torn{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "car-" + std::to_string(t);
      const std::string other = "car-" + std::to_string((t + 1) % kThreads);
      for (int i = 0; i < kRounds; ++i) {
        try {
          const std::string gen = std::to_string(i);
          const std::string a = "access-" + gen;
          const std::string r = "refresh-" + gen;
          s->put(mine, Pairs{{"access", a}, {"refresh", r}});
          if (s->get(mine, "refresh") != r) ++failures;
          // Pairs are written together, so a reader never sees tokens of two generations...
          // except when the writer commits between our two reads; re-read to tell them apart.
          auto oa = s->get(other, "access");
          auto orf = s->get(other, "refresh");
          if (oa && orf && oa->substr(7) != orf->substr(8)) {
            auto oa2 = s->get(other, "access");
            if (oa2 == oa) ++torn;
          }
        } catch (const StoreError&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    const std::string conn = "car-" + std::to_string(t);
    EXPECT_EQ(s->get(conn, "access"), "access-" + std::to_string(kRounds - 1));
    EXPECT_EQ(s->get(conn, "refresh"), "refresh-" + std::to_string(kRounds - 1));
  }
}

TEST_F(SecretStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  auto a = open();
  auto b = open();
  a->put("car-1", Pairs{{"refresh", "from-a"}});
  EXPECT_EQ(b->get("car-1", "refresh"), "from-a");
  b->put("car-1", Pairs{{"refresh", "from-b"}});
  EXPECT_EQ(a->get("car-1", "refresh"), "from-b");
}

}  // namespace
}  // namespace oemlink::store
