// Drives the test's io_context (the client's) until a condition holds, with a hard deadline so
// a hang fails the test instead of blocking ctest.
#pragma once

#include "core/net/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <thread>

namespace oemlink::net::testing {

template <class Predicate>
bool run_until(boost::asio::io_context& io, Predicate done,
               std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    if (io.run_for(std::chrono::milliseconds(10)) == 0) std::this_thread::yield();
  }
  return true;
}

// Runs the io_context for a while regardless (to show that something does NOT happen).
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    io.restart();
    if (io.run_for(std::chrono::milliseconds(10)) == 0) std::this_thread::yield();
  }
}

inline HttpResponse fetch(boost::asio::io_context& io, CurlMultiClient& client,
                          HttpRequest request) {
  std::optional<HttpResponse> result;
  client.request(std::move(request), [&](HttpResponse&& r) { result = std::move(r); });
  EXPECT_TRUE(run_until(io, [&] { return result.has_value(); })) << "request never completed";
  if (!result) {
    HttpResponse none;
    none.error = "test: no completion";
    return none;
  }
  return std::move(*result);
}

inline HttpRequest get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

}  // namespace oemlink::net::testing
