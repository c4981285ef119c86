#include "core/common/process_hardening.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace oemlink {
namespace {

bool all_zero(const char* p, size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == 0; });
}

// In a child, so this test process keeps its own dumpable flag and core limit.
TEST(ProcessHardening, NoCoreDumpsAndNotDumpable) {
  const pid_t pid = fork();
  if (pid == 0) {
    rlimit core{};
    getrlimit(RLIMIT_CORE, &core);
    core.rlim_cur = core.rlim_max;
    setrlimit(RLIMIT_CORE, &core);
    harden_process_for_secrets();
    getrlimit(RLIMIT_CORE, &core);
    if (core.rlim_cur != 0 || core.rlim_max != 0) _exit(1);
    _exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: core limit not 0; 2: still dumpable";
}

// The entry's own bytes are wiped, as they would be in the initial environment block.
TEST(ProcessHardening, ScrubRemovesTheVariableAndWipesItsText) {
  static char entry[] = "OEMLINK_TEST_SCRUB=5e5e5e5e";
  ASSERT_EQ(putenv(entry), 0);
  setenv("OEMLINK_TEST_SCRUB_KEEP", "kept", 1);
  scrub_environment_variable("OEMLINK_TEST_SCRUB");
  EXPECT_EQ(std::getenv("OEMLINK_TEST_SCRUB"), nullptr);
  EXPECT_TRUE(all_zero(entry, sizeof entry - 1));
  ASSERT_NE(std::getenv("OEMLINK_TEST_SCRUB_KEEP"), nullptr);
  EXPECT_STREQ(std::getenv("OEMLINK_TEST_SCRUB_KEEP"), "kept");
  unsetenv("OEMLINK_TEST_SCRUB_KEEP");
}

// A crafted environment may name a variable twice; getenv sees only the first.
TEST(ProcessHardening, ScrubWipesEveryEntryOfTheName) {
  char first[] = "OEMLINK_TEST_TWICE=aaaa";
  char second[] = "OEMLINK_TEST_TWICE=bbbb";
  char prefix[] = "OEMLINK_TEST_TWICEX=keep";
  char* custom[] = {first, prefix, second, nullptr};
  char** saved = environ;
  environ = custom;
  scrub_environment_variable("OEMLINK_TEST_TWICE");
  const bool gone = std::getenv("OEMLINK_TEST_TWICE") == nullptr;
  const char* kept = std::getenv("OEMLINK_TEST_TWICEX");
  const std::string kept_value = kept ? kept : "";
  environ = saved;
  EXPECT_TRUE(gone);
  EXPECT_EQ(kept_value, "keep");
  EXPECT_TRUE(all_zero(first, sizeof first - 1));
  EXPECT_TRUE(all_zero(second, sizeof second - 1));
}

TEST(ProcessHardening, ArgumentValuesOfTheFlagAreWipedInPlace) {
  char a0[] = "oemlink", a1[] = "--kek-command", a2[] = "kms --token s3cr3t",
       a3[] = "--kek-command=kms --token t0k3n", a4[] = "--kek-commandos=keep", a5[] = "--vault",
       a6[] = "v.sealed";
  char* argv[] = {a0, a1, a2, a3, a4, a5, a6, nullptr};
  scrub_argument_values(7, argv, "--kek-command");
  EXPECT_STREQ(argv[1], "--kek-command");
  EXPECT_TRUE(all_zero(a2, sizeof a2 - 1));
  EXPECT_STREQ(argv[3], "--kek-command=");
  EXPECT_TRUE(all_zero(a3 + 14, sizeof a3 - 15));
  EXPECT_STREQ(argv[4], "--kek-commandos=keep");
  EXPECT_STREQ(argv[6], "v.sealed");
}

}  // namespace
}  // namespace oemlink
