// KeyVault::claim_next: a fresh child never claimed before, idempotent per connection, refused
// for a retired one, never the same child for two claimers at once (threads and processes), in
// the registry, the in-process vault and through oemlink-keyd (and a clear error from an older
// keyd that does not know the op).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <thread>

#include "core/vault/child_registry.hpp"
#include "core/vault/claimed_child_vault.hpp"
#include "core/vault/kek_source.hpp"
#include "core/vault/keyd_client_vault.hpp"
#include "core/vault/keyd_protocol.hpp"
#include "core/vault/sealed_seed.hpp"
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

TEST(ClaimNext, AllocatesOneMoreThanTheHighestEverClaimedAndIsIdempotent) {
  test::TempDir dir;
  ChildRegistry reg(dir / "keys.db");
  EXPECT_EQ(reg.claim_next("car-a"), 0u);
  EXPECT_EQ(reg.claim_next("car-b"), 1u);
  EXPECT_EQ(reg.claim_next("car-a"), 0u);  // the same connection gets its child back
  reg.claim(7, "yaml-car");                // a configured child further up
  EXPECT_EQ(reg.claim_next("car-c"), 8u);
  reg.retire(8);
  // Retired children count: the next one is above them, never a reuse of 8.
  EXPECT_EQ(reg.claim_next("car-d"), 9u);
  EXPECT_EQ(reg.claimed_count(), 5u);
  EXPECT_EQ(reg.owner(9)->connection_id, "car-d");
}

TEST(ClaimNext, RefusesAConnectionWhoseChildWasRetired) {
  test::TempDir dir;
  ChildRegistry reg(dir / "keys.db");
  ASSERT_EQ(reg.claim_next("car-a"), 0u);
  reg.retire(0);
  const std::string why = vault_error([&] { (void)reg.claim_next("car-a"); });
  EXPECT_THAT(
      why, AllOf(HasSubstr("connection car-a's key child 0 was retired on 20"), HasSubstr(" UTC")));
  EXPECT_THAT(vault_error([&] { (void)reg.claim_next(""); }), HasSubstr("empty"));
  EXPECT_EQ(reg.claimed_count(), 1u);  // nothing was allocated by the refusals
}

TEST(ClaimNext, ConcurrentThreadsOnSeparateConnectionsNeverShareAChild) {
  test::TempDir dir;
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::vector<uint32_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ChildRegistry reg(dir / "keys.db");  // its own SQLite connection, as another process has
      for (int i = 0; i < kEach; ++i)
        got[t].push_back(reg.claim_next("t" + std::to_string(t) + "-" + std::to_string(i)));
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint32_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.rbegin(), uint32_t{kThreads * kEach - 1});  // dense: no number skipped
}

TEST(ClaimNext, ConcurrentProcessesNeverShareAChild) {
  test::TempDir dir;
  { ChildRegistry create(dir / "keys.db"); }
  constexpr int kProcs = 3, kEach = 40;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      try {
        ChildRegistry reg(dir / "keys.db");
        for (int i = 0; i < kEach; ++i)
          (void)reg.claim_next("p" + std::to_string(p) + "-" + std::to_string(i));
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  ChildRegistry reg(dir / "keys.db");
  const std::vector<ChildClaim> claims = reg.list();
  ASSERT_EQ(claims.size(), size_t{kProcs * kEach});
  std::set<std::string> ids;
  for (size_t i = 0; i < claims.size(); ++i) {
    EXPECT_EQ(claims[i].child, i);  // 0..119, each once
    ids.insert(claims[i].connection_id);
  }
  EXPECT_EQ(ids.size(), claims.size());
}

TEST(ClaimNext, TheVaultSignsForTheNewChildAtOnce) {
  test::TempDir dir;
  ClaimedChildVault vault(dimo_seed(), 16, dir / "keys.db", dir / "vault.sealed");
  std::vector<std::pair<uint32_t, std::string_view>> yaml = {{0, "yaml-0"}};
  ASSERT_TRUE(vault.claim_all(yaml).empty());
  const uint32_t child = vault.claim_next("linked-1");
  EXPECT_EQ(child, 1u);
  EXPECT_EQ(crypto::to_checksum_address(vault.address(child)), test::kDimoAddresses[1]);
  const crypto::Hash32 h = crypto::keccak256("claim next");
  EXPECT_EQ(crypto::recover_address(h, vault.sign_hash(child, h)), vault.address(child));
  EXPECT_EQ(vault.claim_next("linked-1"), 1u);
  vault.retire(child);
  EXPECT_THAT(vault_error([&] { (void)vault.sign_hash(child, h); }), HasSubstr("retired"));
  EXPECT_THAT(vault_error([&] { (void)vault.claim_next("linked-1"); }),
              HasSubstr("connection linked-1's key child 1 was retired on"));
  // Threads claiming through one vault: distinct children, each able to sign right away.
  std::vector<std::thread> threads;
  std::vector<uint32_t> got(8);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      got[t] = vault.claim_next("thread-" + std::to_string(t));
      (void)vault.sign_hash(got[t], h);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()).size(), 8u);
  EXPECT_EQ(*std::min_element(got.begin(), got.end()), 2u);
}

TEST(ClaimNext, AToolsVaultWithoutRegistryRefuses) {
  InProcessVault vault(dimo_seed(), 0);
  EXPECT_THAT(vault_error([&] { (void)vault.claim_next("car"); }), HasSubstr("no child registry"));
}

class ClaimNextKeydTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(dir_ / "seed", test::kDimoSeedHex, 0600);
    test::ScopedEnv env("OEMLINK_TEST_KEK", test::kKekHex);
    const Kek kek = load_kek({.kind = KekSourceConfig::Kind::env, .value = "OEMLINK_TEST_KEK"});
    import_vault(vault_, dir_ / "seed", kek);
  }

  test::TempDir dir_;
  fs::path vault_ = dir_ / "vault.sealed";
  fs::path socket_ = dir_ / "run/keyd.sock";
  fs::path registry_ = dir_ / "keys.db";
};

TEST_F(ClaimNextKeydTest, KeydAllocatesAndTheHostSignsForTheNewChild) {
  test::KeydProcess keyd({"--vault", vault_.string(), "--socket", socket_.string(), "--registry",
                          registry_.string(), "--threads", "2"},
                         {std::string("OEMLINK_KEK=") + test::kKekHex}, socket_);
  ASSERT_TRUE(keyd.running()) << test::read_file(keyd.log_file());
  KeydClientVault a({.socket = socket_});
  KeydClientVault b({.socket = socket_});
  EXPECT_EQ(a.claim_next("car-a"), 0u);
  EXPECT_EQ(b.claim_next("car-b"), 1u);
  EXPECT_EQ(b.claim_next("car-a"), 0u);
  EXPECT_EQ(crypto::to_checksum_address(a.address(1)), test::kDimoAddresses[1]);
  // Two clients claiming at once through keyd's threads: no child twice.
  std::vector<uint32_t> got_a, got_b;
  std::thread ta([&] {
    for (int i = 0; i < 30; ++i) got_a.push_back(a.claim_next("a-" + std::to_string(i)));
  });
  std::thread tb([&] {
    for (int i = 0; i < 30; ++i) got_b.push_back(b.claim_next("b-" + std::to_string(i)));
  });
  ta.join();
  tb.join();
  std::set<uint32_t> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(all.size(), 60u);
  a.retire(0);
  EXPECT_THAT(
      vault_error([&] { (void)a.claim_next("car-a"); }),
      AllOf(HasSubstr("keyd at "), HasSubstr("connection car-a's key child 0 was retired")));
  EXPECT_THAT(test::read_file(keyd.log_file()),
              HasSubstr("key child 1 claimed by connection 'car-b'"));
}

// An oemlink-keyd from before claim_next answers any op it does not know with "unknown op N".
TEST_F(ClaimNextKeydTest, AnOlderKeydIsNamedAsTooOld) {
  fs::create_directories(socket_.parent_path());
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::thread old_keyd([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    uint8_t header[4];
    if (::recv(fd, header, 4, MSG_WAITALL) == 4) {
      std::vector<uint8_t> body(keyd::get_u32(header));
      if (::recv(fd, body.data(), body.size(), MSG_WAITALL) == static_cast<ssize_t>(body.size())) {
        const auto answer = keyd::encode_error("unknown op " + std::to_string(body[0]));
        (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
    }
    ::close(fd);
  });
  KeydClientVault client({.socket = socket_});
  const std::string why = vault_error([&] { (void)client.claim_next("car-a"); });
  old_keyd.join();
  ::close(listener);
  EXPECT_THAT(why,
              AllOf(HasSubstr("keyd at " + socket_.string()), HasSubstr("older than this host"),
                    HasSubstr("unknown op 5"), HasSubstr("upgrade oemlink-keyd")));
}

}  // namespace
}  // namespace oemlink::vault
