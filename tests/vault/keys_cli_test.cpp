// `oemlink keys` through cmd_keys(), in-process (stdout/stderr captured).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/cli/commands.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::cli {
namespace {

namespace fs = std::filesystem;
namespace test = oemlink::vault::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int rc;
  std::string out;
  std::string err;
};

CliRun keys(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int rc = cmd_keys(args);
  CliRun r{rc, ::testing::internal::GetCapturedStdout(), ::testing::internal::GetCapturedStderr()};
  return r;
}

class KeysCliTest : public ::testing::Test {
 protected:
  void SetUp() override { test::write_file(dir_ / "seed", test::kDimoSeedHex, 0600); }
  test::TempDir dir_;
  std::string vault_ = (dir_ / "vault.sealed").string();
  test::ScopedEnv kek_{"OEMLINK_KEK", test::kKekHex};
};

TEST_F(KeysCliTest, ImportThenAddressAndList) {
  CliRun r = keys({"import", "--seed-file", (dir_ / "seed").string(), "--vault", vault_});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("child 0 address: " + test::kDimoAddresses[0]));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(test::kDimoSeedHex)));

  for (int child = 0; child < 3; ++child) {
    r = keys({"address", std::to_string(child), "--vault", vault_});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, test::kDimoAddresses[child] + "\n");
  }

  test::write_file(dir_ / "oemlink.yaml", R"(data_dir: data
drivers:
  - {name: mock, library: mock}
connections:
  - {id: car-a, driver: mock, vin: 5YJ3E1EA7KF000001, key_child: 2}
  - {id: car-b, driver: mock, vin: 5YJ3E1EA7KF000002, key_child: 0}
)");
  r = keys({"list", "--config", (dir_ / "oemlink.yaml").string(), "--vault", vault_});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("car-a"));
  EXPECT_THAT(r.out, HasSubstr(test::kDimoAddresses[2]));
  EXPECT_THAT(r.out, HasSubstr(test::kDimoAddresses[0]));
}

TEST_F(KeysCliTest, InitRefusesToReplaceWithoutForce) {
  CliRun r = keys({"init", "--vault", vault_});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("created vault"), HasSubstr("child 0 address: 0x")));
  const std::string before = test::read_file(vault_);
  r = keys({"init", "--vault", vault_});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("already exists"), HasSubstr("--force")));
  EXPECT_EQ(test::read_file(vault_), before);
  r = keys({"init", "--vault", vault_, "--force"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(test::read_file(vault_), before);
}

TEST_F(KeysCliTest, KekFromFileOrCommand) {
  test::write_file(dir_ / "kek", std::string(test::kOtherKekHex) + "\n", 0600);
  CliRun r = keys({"import", "--seed-file", (dir_ / "seed").string(), "--vault", vault_,
                   "--kek-file", (dir_ / "kek").string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = keys({"address", "1", "--vault", vault_, "--kek-command", "cat " + (dir_ / "kek").string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, test::kDimoAddresses[1] + "\n");
  // $OEMLINK_KEK holds another key: the default source cannot unseal it.
  r = keys({"address", "1", "--vault", vault_});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("wrong key-encryption key"));
}

TEST_F(KeysCliTest, UsageErrorsAndHelp) {
  EXPECT_EQ(keys({}).rc, 2);
  EXPECT_EQ(keys({"--help"}).rc, 0);
  EXPECT_EQ(keys({"frobnicate"}).rc, 2);
  for (const char* sub : {"init", "import", "address", "list"}) {
    CliRun r = keys({sub, "--help"});
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_THAT(r.out,
                AllOf(HasSubstr(std::string("oemlink keys ") + sub), HasSubstr("--kek-file")));
  }
  EXPECT_EQ(keys({"address"}).rc, 2);
  EXPECT_EQ(keys({"address", "2147483648"}).rc, 2);
  EXPECT_EQ(keys({"address", "-1"}).rc, 2);
  EXPECT_EQ(keys({"import", "--vault", vault_}).rc, 2);
  EXPECT_EQ(keys({"list"}).rc, 2);
  EXPECT_EQ(keys({"address", "1", "--force"}).rc, 2);
  EXPECT_EQ(keys({"init", "--kek-env", "A", "--kek-file", "B"}).rc, 2);
  EXPECT_EQ(keys({"address", "1", "--vault", vault_}).rc, 1);  // no vault yet
}

TEST_F(KeysCliTest, BadSeedFileIsNotEchoed) {
  test::write_file(dir_ / "seed", "correct horse battery staple", 0600);
  CliRun r = keys({"import", "--seed-file", (dir_ / "seed").string(), "--vault", vault_});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("64 hex characters"), Not(HasSubstr("horse"))));
  EXPECT_FALSE(fs::exists(vault_));
}

}  // namespace
}  // namespace oemlink::cli
