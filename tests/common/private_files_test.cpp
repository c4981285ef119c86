#include "core/common/private_files.hpp"

#include "tests/common/disk_full.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace oemlink {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "oemlink-common-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

  fs::path dir_;
};

TEST_F(PrivateFiles, ParentsAre0700AndFiles0600EvenUnderAPermissiveUmask) {
  const mode_t old = umask(0);
  const fs::path db = dir_ / "a" / "b" / "store.db";
  create_private_file(db);
  const fs::path key = dir_ / "c" / "key";
  ASSERT_TRUE(write_private_file(key, bytes("k"), IfExists::keep));
  umask(old);
  EXPECT_EQ(mode_of(dir_ / "a"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "a" / "b"), 0700u);
  EXPECT_EQ(mode_of(db), 0600u);
  EXPECT_EQ(mode_of(dir_ / "c"), 0700u);
  EXPECT_EQ(mode_of(key), 0600u);
}

TEST_F(PrivateFiles, CreatePrivateFileKeepsAnExistingFile) {
  const fs::path p = dir_ / "db";
  std::ofstream(p) << "data";
  ASSERT_EQ(chmod(p.c_str(), 0640), 0);
  create_private_file(p);
  EXPECT_EQ(read(p), "data");
  EXPECT_EQ(mode_of(p), 0640u);
}

TEST_F(PrivateFiles, KeepNeverReplacesAndReplaceDoes) {
  const fs::path p = dir_ / "key";
  ASSERT_TRUE(write_private_file(p, bytes("first"), IfExists::keep));
  EXPECT_FALSE(write_private_file(p, bytes("second"), IfExists::keep));
  EXPECT_EQ(read(p), "first");
  EXPECT_TRUE(write_private_file(p, bytes("third"), IfExists::replace));
  EXPECT_EQ(read(p), "third");
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename(), "key") << "temporary file left behind";
  }
}

// Key files are replaced through write_private_file (reseal): a write that fails part way (here
// past RLIMIT_FSIZE, as on a full disk) leaves the previous file whole and no temp file.
TEST_F(PrivateFiles, AFailedReplaceLeavesThePreviousVersionIntact) {
  const fs::path file = dir_ / "outbox.key";
  const std::vector<uint8_t> before(100, 0xAB);
  ASSERT_TRUE(write_private_file(file, before, IfExists::replace));
  const std::vector<uint8_t> after(10'000, 0xCD);
  {
    oemlink::testing::FileSizeLimit limit(4096);
    EXPECT_THROW(write_private_file(file, after, IfExists::replace), FileError);
  }
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, before);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"outbox.key"});
}

TEST_F(PrivateFiles, ErrorsNameThePath) {
  const fs::path blocker = dir_ / "plain";
  std::ofstream(blocker) << "x";
  try {
    create_private_file(blocker / "sub" / "db");
    FAIL() << "a regular file cannot be a directory";
  } catch (const FileError& e) {
    EXPECT_THAT(e.what(), HasSubstr((blocker / "sub").string()));
  }
  EXPECT_THROW(write_private_file(blocker / "key", bytes("k"), IfExists::keep), FileError);
  EXPECT_EQ(mode_string(0100644), "0644");
  EXPECT_EQ(mode_string(04755), "4755");
}

}  // namespace
}  // namespace oemlink
