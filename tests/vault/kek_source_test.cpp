#include "core/vault/kek_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>

#include <cstdlib>

#include "core/vault/key_vault.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::vault {
namespace {

using test::kKekHex;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Kind = KekSourceConfig::Kind;

// The message of load_kek's VaultError ("" when it succeeded).
std::string error_of(const KekSourceConfig& src) {
  try {
    (void)load_kek(src);
  } catch (const VaultError& e) {
    return e.what();
  }
  return "";
}

bool is_test_kek(const Kek& k) {
  return std::vector<uint8_t>(k.get().begin(), k.get().end()) == test::unhex(kKekHex);
}

TEST(KekSource, FromEnvironmentVariable) {
  test::ScopedEnv env("OEMLINK_TEST_KEK", kKekHex);
  const Kek k = load_kek({.kind = Kind::env, .value = "OEMLINK_TEST_KEK"});
  EXPECT_TRUE(is_test_kek(k));
}

// In a child: the switch is for the whole process, and the other tests read their variables
// again and again.
TEST(KekSource, TakenOutOfTheEnvironmentOnFirstReadThenKeptInMemory) {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("OEMLINK_TEST_TAKEN_KEK", kKekHex, 1);
    take_env_keks_out_of_environment();
    const KekSourceConfig src{.kind = Kind::env, .value = "OEMLINK_TEST_TAKEN_KEK"};
    if (!is_test_kek(load_kek(src))) _exit(1);
    if (std::getenv("OEMLINK_TEST_TAKEN_KEK") != nullptr) _exit(2);
    if (!is_test_kek(load_kek(src))) _exit(3);
    // Another variable is still read from the environment, and is then gone too.
    setenv("OEMLINK_TEST_OTHER_KEK", "zz", 1);
    try {
      (void)load_kek({.kind = Kind::env, .value = "OEMLINK_TEST_OTHER_KEK"});
      _exit(4);
    } catch (const VaultError&) {
    }
    _exit(std::getenv("OEMLINK_TEST_OTHER_KEK") == nullptr ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1/3: wrong KEK; 2: variable still set; 4: bad value accepted; 5: bad value kept";
}

TEST(KekSource, DefaultVariableIsOemlinkKek) {
  test::ScopedEnv env("OEMLINK_KEK", kKekHex);
  EXPECT_TRUE(is_test_kek(load_kek({})));
}

TEST(KekSource, BadEnvironmentValuesNameTheVariableNotTheValue) {
  const KekSourceConfig src{.kind = Kind::env, .value = "OEMLINK_TEST_KEK"};
  {
    test::ScopedEnv env("OEMLINK_TEST_KEK", nullptr);
    EXPECT_THAT(error_of(src), HasSubstr("environment variable OEMLINK_TEST_KEK is not set"));
  }
  {
    const std::string short_value = std::string(kKekHex).substr(0, 62);
    test::ScopedEnv env("OEMLINK_TEST_KEK", short_value.c_str());
    EXPECT_THAT(error_of(src), AllOf(HasSubstr("OEMLINK_TEST_KEK"), HasSubstr("62 characters"),
                                     Not(HasSubstr(short_value))));
  }
  {
    std::string bad = kKekHex;
    bad[10] = 'z';
    test::ScopedEnv env("OEMLINK_TEST_KEK", bad.c_str());
    EXPECT_THAT(error_of(src), AllOf(HasSubstr("character 11 is not a hex digit"),
                                     Not(HasSubstr("z")), Not(HasSubstr(bad.substr(0, 10)))));
  }
}

TEST(KekSource, FromFileWithOrWithoutNewline) {
  test::TempDir dir;
  test::write_file(dir / "kek", std::string(kKekHex) + "\n", 0600);
  EXPECT_TRUE(is_test_kek(load_kek({.kind = Kind::file, .value = (dir / "kek").string()})));
  test::write_file(dir / "kek2", kKekHex, 0400);
  EXPECT_TRUE(is_test_kek(load_kek({.kind = Kind::file, .value = (dir / "kek2").string()})));
}

TEST(KekSource, RefusesGroupOrWorldReadableFile) {
  test::TempDir dir;
  test::write_file(dir / "kek", kKekHex, 0644);
  EXPECT_THAT(error_of({.kind = Kind::file, .value = (dir / "kek").string()}),
              AllOf(HasSubstr((dir / "kek").string()), HasSubstr("mode 0644"),
                    HasSubstr("chmod 600"), Not(HasSubstr(kKekHex))));
}

TEST(KekSource, RefusesMalformedFiles) {
  test::TempDir dir;
  test::write_file(dir / "short", std::string(kKekHex).substr(2), 0600);
  EXPECT_THAT(error_of({.kind = Kind::file, .value = (dir / "short").string()}),
              AllOf(HasSubstr("KEK file " + (dir / "short").string()), HasSubstr("62 characters")));
  test::write_file(dir / "raw", std::string(32, '\x01'), 0600);
  EXPECT_THAT(error_of({.kind = Kind::file, .value = (dir / "raw").string()}),
              HasSubstr("32 characters"));
  test::write_file(dir / "long", std::string(1000, 'a'), 0600);
  EXPECT_THAT(error_of({.kind = Kind::file, .value = (dir / "long").string()}),
              HasSubstr("longer than"));
  EXPECT_THAT(error_of({.kind = Kind::file, .value = dir.path().string()}),
              HasSubstr("is not a regular file"));
  EXPECT_THAT(error_of({.kind = Kind::file, .value = (dir / "missing").string()}),
              HasSubstr("No such file"));
}

TEST(KekSource, FromCommandOutput) {
  const Kek k = load_kek({.kind = Kind::command, .value = std::string("echo ") + kKekHex});
  EXPECT_TRUE(is_test_kek(k));
}

TEST(KekSource, TheKekCommandInheritsNoKekFromTheEnvironment) {
  // A deployment that exports OEMLINK_KEK for another tool, and configures a KEK command: the
  // command (and whatever it runs) must not see the exported key.
  ::setenv("OEMLINK_KEK", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
  ::setenv("OEMLINK_HARMLESS", "visible", 1);
  const std::string seen = std::string("/tmp/oemlink-kek-env-") + std::to_string(::getpid());
  const Kek k = load_kek(
      {.kind = Kind::command, .value = "env > " + seen + "; echo " + std::string(kKekHex)});
  EXPECT_TRUE(is_test_kek(k));
  std::ifstream in(seen);
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(seen.c_str());
  ::unsetenv("OEMLINK_KEK");
  ::unsetenv("OEMLINK_HARMLESS");
  EXPECT_EQ(env.find("OEMLINK_KEK="), std::string::npos) << env;
  EXPECT_EQ(env.find("00112233445566778899aabbccddeeff"), std::string::npos);
  EXPECT_NE(env.find("OEMLINK_HARMLESS=visible"), std::string::npos) << "the rest is inherited";
}

TEST(KekSource, FailingCommandReportsExitStatusNotOutput) {
  const std::string cmd = std::string("echo ") + kKekHex + "; exit 3";
  EXPECT_THAT(error_of({.kind = Kind::command, .value = cmd}),
              AllOf(HasSubstr("KEK command 'echo …'"), HasSubstr("exited with status 3"),
                    Not(HasSubstr(kKekHex))));
}

TEST(KekSource, CommandWithBadOutput) {
  EXPECT_THAT(
      error_of({.kind = Kind::command, .value = "echo secretvalue"}),
      AllOf(HasSubstr("output must be exactly 64 hex characters"), Not(HasSubstr("secretvalue"))));
  EXPECT_THAT(error_of({.kind = Kind::command, .value = "yes | head -c 100000"}),
              HasSubstr("more than"));
  EXPECT_THAT(error_of({.kind = Kind::command, .value = "   "}), HasSubstr("empty"));
}

TEST(KekSource, CommandTimeoutKillsIt) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(error_of({.kind = Kind::command,
                        .value = "sleep 30",
                        .command_timeout = std::chrono::milliseconds(200)}),
              HasSubstr("did not finish within 200 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace oemlink::vault
