// DataDirLock: exclusive, names its holder, survives nothing but its holder's life, and creates
// what it creates privately whatever the umask.
#include "core/host/data_dir_lock.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;

class DataDirLockTest : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() / ("oemlink-lock-" + std::to_string(::getpid()));
  void SetUp() override { fs::remove_all(root); }
  void TearDown() override { fs::remove_all(root); }
};

TEST_F(DataDirLockTest, ASecondTakerIsRefusedWithTheHoldersPid) {
  DataDir dir(root / "data");
  DataDirLock first(dir, "oemlink run");
  EXPECT_EQ(DataDirLock::holder(dir), ::getpid());
  try {
    DataDirLock second(dir, "oemlink deadletter purge");
    FAIL() << "two holders";
  } catch (const DataDirBusy& e) {
    EXPECT_EQ(e.holder(), ::getpid());
    EXPECT_NE(std::string(e.what()).find("oemlink deadletter purge: data dir"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("in use by oemlink pid " + std::to_string(::getpid())),
              std::string::npos)
        << e.what();
  }
}

TEST_F(DataDirLockTest, ReleasedWhenItsHolderGoesAndWhenItsProcessDies) {
  DataDir dir(root);
  { DataDirLock first(dir, "a"); }
  EXPECT_EQ(DataDirLock::holder(dir), 0);
  EXPECT_NO_THROW(DataDirLock again(dir, "b"));

  pid_t child = fork();
  if (child == 0) {
    DataDirLock held(dir, "child");
    ::pause();  // killed below
    _exit(0);
  }
  pid_t seen = 0;
  for (int i = 0; i < 200 && seen != child; ++i) {
    seen = DataDirLock::holder(dir);
    if (seen != child) ::usleep(10'000);
  }
  EXPECT_EQ(seen, child);
  EXPECT_THROW(DataDirLock(dir, "parent"), DataDirBusy);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_NO_THROW(DataDirLock(dir, "parent"));
}

TEST_F(DataDirLockTest, CreatesThePrivateDirAndFileWhateverTheUmask) {
  mode_t old = ::umask(0);
  DataDir dir(root / "fresh");
  { DataDirLock lock(dir, "run"); }
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(dir.root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(dir.lock_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace oemlink::host
