// ServiceNotifier against a unix datagram socket of the test's own, as systemd's NOTIFY_SOCKET:
// the exact datagrams, and nothing sent (nothing thrown) without the variable or the socket.
#include "core/common/service_notifier.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace oemlink {
namespace {

class NotifySocket {
 public:
  NotifySocket() {
    path_ = std::filesystem::temp_directory_path() /
            ("oemlink-notify-test-" + std::to_string(getpid()));
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  bool bound() const { return bound_; }
  std::optional<std::string> next(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
    char buf[1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::nullopt : std::optional<std::string>(std::string(buf, n));
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(ServiceNotifier, SendsEachStateAsOneDatagram) {
  NotifySocket socket;
  ASSERT_TRUE(socket.bound());
  EXPECT_TRUE(ServiceNotifier::enabled());
  ServiceNotifier::ready("serving 3 connections\nsecond line dropped");
  EXPECT_EQ(socket.next(), "READY=1\nSTATUS=serving 3 connections");
  ServiceNotifier::reloading();
  auto reloading = socket.next();
  ASSERT_TRUE(reloading);
  EXPECT_EQ(reloading->rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << *reloading;
  EXPECT_NE(reloading->find("\nSTATUS=reloading"), std::string::npos) << *reloading;
  ServiceNotifier::ready();
  EXPECT_EQ(socket.next(), "READY=1");
  ServiceNotifier::stopping();
  EXPECT_EQ(socket.next(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_FALSE(socket.next(50));
  // The variable stays for the process (a reload notifies again).
  EXPECT_STREQ(std::getenv("NOTIFY_SOCKET"), socket.path().c_str());
}

TEST(ServiceNotifier, WithoutNotifySocketNothingHappens) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(ServiceNotifier::enabled());
  ServiceNotifier::ready("x");
  ServiceNotifier::reloading();
  ServiceNotifier::stopping();
}

TEST(ServiceNotifier, ASocketThatIsGoneIsLoggedNotFatal) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent/oemlink-notify", 1);
  ServiceNotifier::ready();
  ServiceNotifier::stopping();
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace oemlink
