#include "core/common/locked_buffer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "core/common/secure_wipe.hpp"

namespace oemlink {
namespace {

TEST(LockedBuffer, ZeroFilledMovableAndPageBacked) {
  LockedBuffer a(100);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(a.size(), 100u);
  EXPECT_TRUE(std::all_of(a.data(), a.data() + 100, [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 4096, 0u);
  a.data()[0] = 7;
  LockedBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data()[0], 7);
  static_assert(!std::is_copy_constructible_v<LockedBuffer>);
}

TEST(LockedDataKey, HoldsACopyInItsOwnPage) {
  DataKey key{};
  key.fill(0x42);
  LockedDataKey locked(key);
  secure_wipe(key);
  EXPECT_EQ(locked.get()[31], 0x42);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(locked.get().data()) % 4096, 0u);
  LockedDataKey moved(std::move(locked));
  EXPECT_EQ(moved.get()[0], 0x42);
}

TEST(SecureWipe, ZeroesWholeContainers) {
  std::array<uint8_t, 5> a{1, 2, 3, 4, 5};
  std::string s = "secret value";
  secure_wipe(a);
  secure_wipe(s);
  EXPECT_EQ(a, (std::array<uint8_t, 5>{}));
  EXPECT_EQ(s, std::string(12, '\0'));
  secure_wipe(nullptr, 0);
}

// Without CAP_IPC_LOCK and with a zero locked-memory limit every mlock fails: the reason is
// logged once, however many buffers follow, and the buffers still work. Exits 0 when so, else a
// code saying which check failed.
[[noreturn]] void lock_without_permission() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2]{};
  if (syscall(SYS_capget, &header, caps) == 0) {
    caps[0].effective &= ~(1u << CAP_IPC_LOCK);
    (void)syscall(SYS_capset, &header, caps);
  }
  rlimit none{0, 0};
  if (setrlimit(RLIMIT_MEMLOCK, &none) != 0) std::_Exit(10);
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  LockedBuffer a(32), b(32), c(5000);
  if (a.locked() || b.locked() || c.locked()) std::_Exit(11);
  a.data()[31] = 1;
  const std::string text = log.str();
  const size_t first = text.find("mlock failed (");
  if (first == std::string::npos) std::_Exit(12);
  if (text.find("mlock failed", first + 1) != std::string::npos) std::_Exit(13);
  if (text.find("Operation not permitted") == std::string::npos &&
      text.find("Cannot allocate memory") == std::string::npos) {
    std::_Exit(14);
  }
  std::_Exit(0);
}

// In a child process: it gives up a capability and replaces the default logger.
TEST(LockedBufferDeathTest, AnMlockRefusalIsWarnedOnceWithItsReason) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer intercepts mlock as a no-op that reports success";
#endif
  EXPECT_EXIT(lock_without_permission(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace oemlink
