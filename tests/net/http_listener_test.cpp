// The inbound listener against well-formed and abusive clients: every refusal has its status and
// its counter and never reaches a handler.
#include "tests/net/listener_fixture.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <mutex>
#include <vector>

namespace oemlink::net::testing {
namespace {

using namespace std::chrono_literals;

class HttpListenerTest : public ::testing::Test {
 protected:
  // Routes: POST /echo answers the body back; POST /later answers from another thread after
  // 50 ms; POST /drop lets its responder go unanswered; POST /never keeps it for ever.
  void start(ListenerOptions o = {}) {
    h_.routes().add("POST", "/echo", "echo", [this](InboundRequest&& r, ResponderPtr out) {
      handled_++;
      InboundResponse res;
      res.status = 200;
      res.headers.emplace_back("X-Target", r.target);
      res.headers.emplace_back("X-Seen-Sig", std::string(r.header("x-sig")));
      res.body = r.body;
      out->respond(std::move(res));
    });
    h_.routes().add("POST", "/later", "later", [this](InboundRequest&&, ResponderPtr out) {
      handled_++;
      std::lock_guard lock(mu_);
      answerers_.emplace_back([out] {
        std::this_thread::sleep_for(50ms);
        out->respond({202, {}, "later"});
        EXPECT_FALSE(out->respond({500, {}, "twice"}));  // the second answer is ignored
      });
    });
    h_.routes().add("POST", "/drop", "drop",
                    [this](InboundRequest&&, ResponderPtr) { handled_++; });
    h_.routes().add("POST", "/never", "never", [this](InboundRequest&&, ResponderPtr out) {
      handled_++;
      kept_ = out;
    });
    h_.routes().add("GET", "/link/*", "link", [this](InboundRequest&& r, ResponderPtr out) {
      handled_++;
      out->respond({200, {}, r.path});
    });
    h_.start(o);
  }

  void TearDown() override {
    std::lock_guard lock(mu_);
    for (auto& t : answerers_) t.join();
  }

  ListenerHarness h_;
  std::atomic<int> handled_{0};
  ResponderPtr kept_;
  std::mutex mu_;
  std::vector<std::thread> answerers_;  // answers from other threads, joined at the end
};

TEST_F(HttpListenerTest, RoutesARequestWithItsHeadersAndBody) {
  start();
  RawClient c(h_.port());
  c.send(post_request("/echo?a=1", R"({"x":1})", "X-Sig: abc\r\n"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), R"({"x":1})");
  EXPECT_EQ((*res)["X-Target"], "/echo?a=1");
  EXPECT_EQ((*res)["X-Seen-Sig"], "abc");
  EXPECT_EQ(h_.counter("responses_echo_200"), 1u);
}

TEST_F(HttpListenerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  RawClient c(h_.port());
  for (int i = 0; i < 5; ++i) {
    c.send(post_request("/echo", std::to_string(i)));
    auto res = c.response();
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->body(), std::to_string(i));
    EXPECT_TRUE(res->keep_alive());
  }
  // Two pipelined requests are answered in order.
  c.send(post_request("/echo", "a") + post_request("/echo", "b"));
  EXPECT_EQ(c.response()->body(), "a");
  EXPECT_EQ(c.response()->body(), "b");
  EXPECT_EQ(h_.counter("connections_accepted"), 1u);
  EXPECT_EQ(h_.counter("responses_echo_200"), 7u);
}

TEST_F(HttpListenerTest, PrefixRoutesMatchBelowTheirPath) {
  start();
  RawClient c(h_.port());
  c.send("GET /link/abc/def HTTP/1.1\r\nHost: t\r\n\r\n");
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "/link/abc/def");
}

TEST_F(HttpListenerTest, UnknownRouteIs404AndWrongMethodIs405WithoutReachingAHandler) {
  start();
  RawClient c(h_.port());
  c.send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404);
  EXPECT_TRUE(res->keep_alive());  // no body was left unread
  c.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
  res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 405);
  EXPECT_EQ((*res)["Allow"], "POST");
  // With a body the server does not read, the connection is closed after the answer.
  RawClient d(h_.port());
  d.send(post_request("/webhooks/nobody", "{}"));
  res = d.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404);
  EXPECT_TRUE(d.closed_by_server());
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(h_.counter("rejected_not_found"), 2u);
  EXPECT_EQ(h_.counter("rejected_method_not_allowed"), 1u);
  EXPECT_EQ(h_.counter("responses_none_404"), 2u);
}

TEST_F(HttpListenerTest, MalformedRequestIs400AndClosed) {
  start();
  for (std::string bad : {"GARBAGE\r\n\r\n", "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    RawClient c(h_.port());
    c.send(bad);
    auto res = c.response();
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->result_int(), 400) << bad;
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(h_.counter("rejected_malformed"), 3u);
}

// A Transfer-Encoding other than plain "chunked" leaves the body's length to guesswork: Beast
// would read no body and take the body's bytes for the next request, while a proxy in front may
// frame it otherwise. That disagreement is how requests are smuggled (RFC 9112 §6.3: 400, close).
TEST_F(HttpListenerTest, TransferEncodingOtherThanChunkedIs400AndClosed) {
  start();
  const std::string smuggled = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi";
  for (std::string te : {"xchunked", "gzip, chunked", "chunked, identity", "identity"}) {
    RawClient c(h_.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled);
    auto res = c.response();
    ASSERT_TRUE(res) << te;
    EXPECT_EQ(res->result_int(), 400) << te;
    EXPECT_TRUE(c.closed_by_server()) << te;
  }
  // Not even a 404 keeps such a connection open for the bytes that follow.
  RawClient c(h_.port());
  c.send("POST /nope HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n" + smuggled);
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(h_.counter("rejected_malformed"), 5u);

  // Plain chunked (any case) is still read.
  RawClient ok(h_.port());
  ok.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  auto good = ok.response();
  ASSERT_TRUE(good);
  EXPECT_EQ(good->result_int(), 200);
  EXPECT_EQ(good->body(), "hi");
}

TEST_F(HttpListenerTest, OversizedBodyIs413BeforeItIsSent) {
  ListenerOptions o;
  o.max_body = 1024;
  start(o);
  RawClient c(h_.port());
  // Only the header goes out: the answer must not wait for the 100 kB.
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413);
  EXPECT_TRUE(c.closed_by_server());
  // A chunked body is cut off once it passes the limit.
  RawClient d(h_.port());
  std::string chunk(800, 'x');
  d.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  d.send("320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n");
  res = d.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413);
  // At the limit is fine.
  RawClient e(h_.port());
  e.send(post_request("/echo", std::string(1024, 'y')));
  res = e.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(h_.counter("rejected_body_too_large"), 2u);
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(HttpListenerTest, OversizedHeaderIs431) {
  ListenerOptions o;
  o.max_header = 2048;
  start(o);
  RawClient c(h_.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 431);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpListenerTest, SlowLorisHeaderDribbleGets408AndNeverReachesAHandler) {
  ListenerOptions o;
  o.header_timeout = 400ms;
  start(o);
  RawClient c(h_.port());
  auto t0 = std::chrono::steady_clock::now();
  std::string header = "POST /echo HTTP/1.1\r\nHost: t\r\nX-Slow: ";
  c.send(header);
  // One byte every 50 ms: each byte is "activity", but the header is never done.
  std::optional<http::response<http::string_body>> res;
  std::thread dribble([&c] {
    for (int i = 0; i < 40; ++i) {
      if (!c.send("a")) return;
      std::this_thread::sleep_for(50ms);
    }
  });
  res = c.response();
  auto took = std::chrono::steady_clock::now() - t0;
  dribble.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 408);
  EXPECT_LT(took, 1500ms);
  EXPECT_GE(took, 350ms);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(h_.counter("rejected_header_timeout"), 1u);
}

TEST_F(HttpListenerTest, SlowBodyGets408) {
  ListenerOptions o;
  o.body_timeout = 300ms;
  start(o);
  RawClient c(h_.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 408);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(h_.counter("rejected_body_timeout"), 1u);
}

TEST_F(HttpListenerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  ListenerOptions o;
  o.idle_timeout = 300ms;
  o.header_timeout = 5s;
  start(o);
  RawClient c(h_.port());
  c.send(post_request("/echo", "1"));
  ASSERT_TRUE(c.response());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(h_.counter("idle_closed"), 1u);
  EXPECT_EQ(h_.counter("rejected_header_timeout"), 0u);
}

TEST_F(HttpListenerTest, ConnectionsBeyondTheCapAreClosedAtOnceAndCounted) {
  ListenerOptions o;
  o.max_connections = 2;
  start(o);
  RawClient a(h_.port()), b(h_.port());
  a.send(post_request("/echo", "a"));
  ASSERT_TRUE(a.response());  // both are open by the time a answers
  b.send(post_request("/echo", "b"));
  ASSERT_TRUE(b.response());
  RawClient over(h_.port());
  EXPECT_TRUE(over.closed_by_server());
  EXPECT_EQ(h_.counter("rejected_over_capacity"), 1u);
  // Once one closes, a new connection is served again.
  a.socket().close();
  for (int i = 0; i < 50 && h_.on_loop([&] { return h_.listener().connections(); }) > 1; ++i)
    std::this_thread::sleep_for(10ms);
  RawClient again(h_.port());
  again.send(post_request("/echo", "c"));
  auto res = again.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "c");
}

// A cap above the descriptor limit would let a flood starve the outbox, polls and deliveries of
// descriptors (the cap, not EMFILE, must be what stops it): start() lowers it to fit.
TEST_F(HttpListenerTest, TheCapIsLoweredToFitTheDescriptorLimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 1024) GTEST_SKIP() << "hard RLIMIT_NOFILE below 1024";
  rlimit low = saved;
  low.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ListenerOptions o;
  o.max_connections = 1024;
  start(o);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(h_.on_loop([&] { return h_.listener().max_connections(); }), 768u);  // 1024 - 256

  // A cap that fits is kept.
  ListenerHarness fits;
  ListenerOptions small;
  small.max_connections = 100;
  fits.start(small);
  EXPECT_EQ(fits.on_loop([&] { return fits.listener().max_connections(); }), 100u);
}

TEST_F(HttpListenerTest, AnswersFromAnotherThreadLaterAreSentOnce) {
  start();
  RawClient c(h_.port());
  c.send(post_request("/later", "x"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 202);
  EXPECT_EQ(res->body(), "later");
  // The connection goes on with the next request.
  c.send(post_request("/echo", "y"));
  EXPECT_EQ(c.response()->body(), "y");
}

TEST_F(HttpListenerTest, AResponderDroppedUnansweredSends500) {
  start();
  RawClient c(h_.port());
  c.send(post_request("/drop", "x"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 500);
  EXPECT_EQ(h_.counter("unanswered"), 1u);
}

TEST_F(HttpListenerTest, NoAnswerWithinAnswerTimeoutIs503AndALateAnswerIsIgnored) {
  ListenerOptions o;
  o.answer_timeout = 200ms;
  start(o);
  {
    RawClient c(h_.port());
    c.send(post_request("/never", "x"));
    auto res = c.response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 503);
  }
  EXPECT_EQ(h_.counter("rejected_answer_timeout"), 1u);
  // The connection is gone; answering now must be harmless.
  std::this_thread::sleep_for(50ms);
  ResponderPtr late = h_.on_loop([this] { return kept_; });
  ASSERT_TRUE(late);
  std::thread([late] { late->respond({200, {}, "too late"}); }).join();
  RawClient d(h_.port());
  d.send(post_request("/echo", "still serving"));
  EXPECT_EQ(d.response()->body(), "still serving");
}

TEST_F(HttpListenerTest, AnAnswerAfterTheListenerIsGoneIsDropped) {
  start();
  RawClient c(h_.port());
  c.send(post_request("/never", "x"));
  for (int i = 0; i < 100 && !h_.on_loop([this] { return kept_ != nullptr; }); ++i)
    std::this_thread::sleep_for(10ms);
  ResponderPtr late = h_.on_loop([this] { return kept_; });
  ASSERT_TRUE(late);
  h_.stop();
  EXPECT_FALSE(late->respond({200, {}, "nobody listens"}));
}

// 1,000 idle keep-alive connections and a slow-loris client must not slow valid deliveries.
TEST_F(HttpListenerTest, ThousandIdleConnectionsAndASlowLorisDoNotDelayValidRequests) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 8192) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  ASSERT_GE(lim.rlim_cur, 2200u) << "RLIMIT_NOFILE too low for 1,000 connections";
  ListenerOptions o;
  o.max_connections = 1100;
  o.header_timeout = 1s;
  o.idle_timeout = 60s;
  start(o);

  // Each idle connection has had one answer and now waits in keep-alive.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<RawClient>(h_.port()));
    idle.back()->send(post_request("/echo", "hello"));
    ASSERT_TRUE(idle.back()->response()) << i;
  }
  EXPECT_GE(h_.on_loop([&] { return h_.listener().connections(); }), 1000u);
  std::atomic<bool> done{false};
  std::thread loris([&] {
    while (!done) {
      RawClient c(h_.port());
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\n");
      while (!done && c.send("X")) std::this_thread::sleep_for(20ms);
    }
  });

  std::vector<double> ms;
  RawClient c(h_.port());
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(10ms);  // spread over the slow-loris's header timeouts
    auto t0 = std::chrono::steady_clock::now();
    c.send(post_request("/echo", R"({"delivery":)" + std::to_string(i) + "}"));
    auto res = c.response();
    ASSERT_TRUE(res) << i;
    ASSERT_EQ(res->result_int(), 200);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  done = true;
  loris.join();
  std::sort(ms.begin(), ms.end());
  double p50 = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100], worst = ms.back();
  std::printf(
      "[listener] 1000 idle connections + slow-loris: 200 deliveries p50 %.2f ms, p99 "
      "%.2f ms, max %.2f ms\n",
      p50, p99, worst);
  EXPECT_LT(p99, 100.0);
  // The slow-loris was cut off (and came back) while the idle connections stayed.
  EXPECT_GE(h_.counter("rejected_header_timeout"), 1u);
  EXPECT_GE(h_.on_loop([&] { return h_.listener().connections(); }), 1000u);
  EXPECT_EQ(h_.counter("rejected_over_capacity"), 0u);
}

}  // namespace
}  // namespace oemlink::net::testing
