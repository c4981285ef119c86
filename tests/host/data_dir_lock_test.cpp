// DataDirLock: exclusive, names its holder, survives nothing but its holder's life, and creates
// what it creates privately whatever the umask.
#include "core/host/data_dir_lock.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

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

// A holder has the flock but has not written its pid yet (the file is empty): a reader waits a
// moment for the line instead of reporting "another process".
TEST_F(DataDirLockTest, AReaderWaitsForAHolderThatHasNotWrittenItsPidYet) {
  DataDir dir(root);
  { DataDirLock create(dir, "create"); }
  const int fd = ::open(dir.lock_file().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::thread writer([fd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    [[maybe_unused]] ssize_t n = ::pwrite(fd, "4242\n", 5, 0);
  });
  EXPECT_EQ(DataDirLock::holder(dir), 4242);
  writer.join();
  try {
    DataDirLock second(dir, "second");
    FAIL() << "two holders";
  } catch (const DataDirBusy& e) {
    EXPECT_EQ(e.holder(), 4242) << e.what();
  }
  ::close(fd);
}

// The holder's pid is written in place (one pwrite, then cut to length), never truncated first:
// while the lock changes hands over and over, a reader of the file never finds it empty or
// without its line.
TEST_F(DataDirLockTest, ThePidIsNeverSeenEmptyWhileTheLockChangesHands) {
  DataDir dir(root);
  { DataDirLock create(dir, "create"); }
  const int fd = ::open(dir.lock_file().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::atomic<bool> done{false};
  std::thread taker([&] {
    for (int i = 0; i < 20'000; ++i) DataDirLock again(dir, "again");
    done = true;
  });
  uint64_t reads = 0, torn = 0;
  while (!done) {
    char buf[32];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    ++reads;
    if (n <= 0 || buf[n - 1] != '\n') ++torn;
  }
  taker.join();
  ::close(fd);
  EXPECT_EQ(torn, 0u) << "of " << reads << " reads";
}

}  // namespace
}  // namespace oemlink::host
