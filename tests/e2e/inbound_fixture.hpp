// What the end-to-end tests of the daemon's inbound listener share: a free port for its config,
// waiting until it accepts connections, and reading a metric out of status.json.
#pragma once

#include "tests/e2e/status_metric.hpp"
#include "tests/net/listener_fixture.hpp"

#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>

namespace oemlink::testing {

// A port nothing listens on right now (the kernel's pick, released again).
inline uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Waits until something accepts connections on `port`; false when `pid` exited first or 10 s
// passed.
inline bool wait_for_listener(uint16_t port, pid_t pid) {
  using namespace std::chrono_literals;
  for (int i = 0; i < 200; ++i) {
    try {
      net::testing::RawClient probe(port, 100ms);
      return true;
    } catch (const std::exception&) {
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace oemlink::testing
