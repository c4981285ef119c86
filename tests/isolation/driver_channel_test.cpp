#include "core/isolation/driver_channel.hpp"
#include "core/isolation/message_kind.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

namespace {

using namespace oemlink::isolation;
using namespace std::chrono_literals;

struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a = std::make_unique<DriverChannel>(sv[0], [] { return int64_t{1000}; });
    b = std::make_unique<DriverChannel>(sv[1], [] { return int64_t{4000}; });
  }
  std::unique_ptr<DriverChannel> a, b;
};

TEST(DriverChannel, CallsArePairedWithTheirRepliesAndOneWayFramesArriveInOrder) {
  Pair p;
  std::vector<uint32_t> seen;
  std::mutex mu;
  p.b->start(
      [&](FrameReader& r) {
        uint32_t v = r.u32();
        r.done();
        {
          std::lock_guard lk(mu);
          seen.push_back(v);
        }
        if (r.header().call_id != 0) {
          FrameWriter w(kReply, r.header().call_id);
          w.u32(v * 10);
          p.b->send(w);
        }
      },
      [](const std::string&) {});
  p.a->start([](FrameReader&) {}, [](const std::string&) {});
  for (uint32_t i = 1; i <= 100; ++i) {
    FrameWriter w(kLog, 0);
    w.u32(i);
    ASSERT_TRUE(p.a->send(w));
  }
  // Calls from several threads at once each get their own answer.
  std::vector<std::future<uint32_t>> answers;
  for (uint32_t i = 0; i < 8; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      FrameWriter w(kEmit, p.a->new_call_id());
      w.u32(1000 + i);
      auto a = p.a->call(w, 5s);
      if (!a) return 0u;
      FrameReader r = a->reader();
      return r.u32();
    }));
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(answers[i].get(), (1000 + i) * 10);
  std::lock_guard lk(mu);
  ASSERT_GE(seen.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i + 1);
  // Each side learns the other's clock from its frames.
  EXPECT_EQ(p.b->peer_clock_offset_ms(), 1000 - 4000);
}

TEST(DriverChannel, APeerThatGoesAwayWakesWaitingCallsAndIsReportedOnce) {
  Pair p;
  std::atomic<int> closed{0};
  std::string why;
  p.a->start([](FrameReader&) {},
             [&](const std::string& w) {
               why = w;
               ++closed;
             });
  p.b->start([](FrameReader&) {}, [](const std::string&) {});  // never answers
  auto waiting = std::async(std::launch::async, [&] {
    FrameWriter w(kEmit, p.a->new_call_id());
    return p.a->call(w, 30s).has_value();
  });
  std::this_thread::sleep_for(50ms);
  p.b->close();
  EXPECT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(waiting.get());
  for (int i = 0; i < 100 && closed.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(closed.load(), 1);
  EXPECT_NE(why.find("closed its channel"), std::string::npos) << why;
  FrameWriter w(kLog, 0);
  EXPECT_FALSE(p.a->send(w));
}

TEST(DriverChannel, AMalformedFrameEndsTheChannelNamingWhy) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  DriverChannel a(sv[0], nullptr);
  std::promise<std::string> why;
  a.start([](FrameReader&) {}, [&](const std::string& w) { why.set_value(w); });
  FrameHeader h;
  h.payload_size = kMaxFramePayload + 1;  // more than any peer may send
  h.kind = kLog;
  ASSERT_EQ(::write(sv[1], &h, sizeof h), static_cast<ssize_t>(sizeof h));
  auto f = why.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_NE(f.get().find("malformed frame"), std::string::npos);
  ::close(sv[1]);
}

TEST(DriverChannel, ASenderNeverBlocksOnAPeerThatDoesNotRead) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  DriverChannel a(sv[0], nullptr);
  a.start([](FrameReader&) {}, [](const std::string&) {});
  std::string big(64 * 1024, 'x');
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) {  // 4 MiB, far more than the socket's buffer
    FrameWriter w(kLog, 0);
    w.str(big);
    ASSERT_TRUE(a.send(w));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_GT(a.queued_bytes(), 0u);
  // Once the peer reads, everything queued arrives, whole and in order.
  size_t got = 0;
  std::vector<char> buf(1 << 16);
  while (got < 64 * (big.size() + 4 + sizeof(FrameHeader))) {
    ssize_t n = ::read(sv[1], buf.data(), buf.size());
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  EXPECT_EQ(got, 64 * (big.size() + 4 + sizeof(FrameHeader)));
  ::close(sv[1]);
}

}  // namespace
