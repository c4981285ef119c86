// CurlMultiClient against a real Beast server over plain HTTP on 127.0.0.1.
#include "core/net/http_client.hpp"
#include "tests/net/net_test_util.hpp"
#include "tests/net/test_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <thread>

namespace oemlink::net {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using testing::fetch;
using testing::get;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::run_until;
using testing::TestServer;

HttpClientOptions plain_http() {
  HttpClientOptions options;
  options.allow_plain_http = true;
  return options;
}

Headers only_x_headers(const Headers& headers) {
  Headers out;
  for (const auto& h : headers) {
    if (h.first.starts_with("X-")) out.push_back(h);
  }
  return out;
}

class HttpClient : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  TestServer server;
};

TEST_F(HttpClient, GetReturnsStatusOrderedHeadersAndBody) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse r = fetch(io, client, get(server.url("/hello")));
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_THAT(
      only_x_headers(r.headers),
      ElementsAre(Pair("X-Test", "first"), Pair("X-Other", "middle"), Pair("X-Test", "second")));
  EXPECT_THAT(r.headers, Contains(Pair("Content-Type", "text/plain")));
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.timed_out);
}

TEST_F(HttpClient, PostSendsBodyAndCustomHeaders) {
  CurlMultiClient client(io, plain_http());
  HttpRequest request = get(server.url("/echo?x=1"));
  request.method = "POST";
  request.body = R"({"lock":true})";
  request.headers = {{"Content-Type", "application/json"}, {"X-Custom", "abc 123"}};
  const HttpResponse r = fetch(io, client, request);
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, request.body);
  EXPECT_THAT(r.headers, Contains(Pair("X-Method", "POST")));
  EXPECT_THAT(r.headers, Contains(Pair("X-Custom-Seen", "abc 123")));

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/echo?x=1");
  EXPECT_EQ(seen[0].body, request.body);
  EXPECT_EQ(seen[0].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].header("Expect"), std::nullopt);
  EXPECT_EQ(seen[0].header("Accept-Encoding"), std::nullopt);
}

TEST_F(HttpClient, OtherMethodsAndEmptyBodies) {
  CurlMultiClient client(io, plain_http());
  for (const char* method : {"PUT", "PATCH", "DELETE", "HEAD"}) {
    HttpRequest request = get(server.url("/echo"));
    request.method = method;
    const HttpResponse r = fetch(io, client, request);
    ASSERT_TRUE(r.transport_ok) << method << ": " << r.error;
    EXPECT_EQ(r.status, 200) << method;
  }
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[1].method, "PATCH");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_EQ(seen[3].method, "HEAD");
}

TEST_F(HttpClient, KeepAliveReusesOneConnectionForSequentialRequests) {
  CurlMultiClient client(io, plain_http());
  for (int i = 0; i < 50; ++i) {
    const HttpResponse r = fetch(io, client, get(server.url("/hello")));
    ASSERT_TRUE(r.transport_ok) << i << ": " << r.error;
    ASSERT_EQ(r.status, 200);
  }
  EXPECT_EQ(server.accepted_connections(), 1);
  EXPECT_EQ(server.requests_received(), 50);
}

TEST_F(HttpClient, ServerClosingTheConnectionIsNotAnError) {
  CurlMultiClient client(io, plain_http());
  for (const char* path : {"/close", "/hello", "/close", "/hello", "/hello"}) {
    const HttpResponse r = fetch(io, client, get(server.url(path)));
    ASSERT_TRUE(r.transport_ok) << path << ": " << r.error;
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_EQ(server.accepted_connections(), 3);
}

TEST_F(HttpClient, PeerClosingWithoutResponseFailsOnlyThatRequest) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse dropped = fetch(io, client, get(server.url("/drop")));
  EXPECT_FALSE(dropped.transport_ok);
  EXPECT_THAT(dropped.error, HasSubstr("CURLE_GOT_NOTHING"));
  const HttpResponse after = fetch(io, client, get(server.url("/hello")));
  EXPECT_TRUE(after.transport_ok) << after.error;
}

TEST_F(HttpClient, TwoHundredConcurrentRequestsComplete) {
  HttpClientOptions options = plain_http();
  options.max_connections_per_host = 16;
  CurlMultiClient client(io, options);
  constexpr int kRequests = 200;
  int ok = 0;
  int completed = 0;
  for (int i = 0; i < kRequests; ++i) {
    client.request(get(server.url("/delay?ms=5")), [&](HttpResponse&& r) {
      ++completed;
      if (r.transport_ok && r.status == 200 && r.body == "ok") ++ok;
    });
  }
  EXPECT_EQ(client.in_flight(), size_t{kRequests});
  ASSERT_TRUE(run_until(io, [&] { return completed == kRequests; }));
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_GT(server.max_concurrent_requests(), 1);
  EXPECT_LE(server.accepted_connections(), 16);  // queued behind the per-host cap, not refused
}

// An HTTP/1.1 API needs one connection per request in flight: a per-host cap above the total's
// default (256) is honoured, not silently cut to it (the Tesla benchmark's 1,200 in flight).
TEST_F(HttpClient, APerHostCapAboveTheTotalDefaultIsHonoured) {
  HttpClientOptions options = plain_http();
  options.max_connections_per_host = 300;
  ASSERT_LT(options.max_total_connections, 300);
  CurlMultiClient client(io, options);
  constexpr int kRequests = 300;
  int completed = 0;
  for (int i = 0; i < kRequests; ++i)
    client.request(get(server.url("/delay?ms=1000")), [&](HttpResponse&&) { ++completed; });
  ASSERT_TRUE(run_until(io, [&] { return completed == kRequests; }));
  EXPECT_GT(server.accepted_connections(), 256);
}

TEST_F(HttpClient, PerRequestTimeoutAgainstStallingEndpoint) {
  CurlMultiClient client(io, plain_http());
  HttpRequest request = get(server.url("/stall"));
  request.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse r = fetch(io, client, request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(r.transport_ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_THAT(r.error, HasSubstr("CURLE_OPERATION_TIMEDOUT"));
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 10s);

  // The timed-out connection was closed under a pending wait; the client must still work.
  const HttpResponse after = fetch(io, client, get(server.url("/hello")));
  EXPECT_TRUE(after.transport_ok) << after.error;
}

TEST_F(HttpClient, DefaultTimeoutComesFromOptions) {
  HttpClientOptions options = plain_http();
  options.default_timeout = 200ms;
  CurlMultiClient client(io, options);
  const HttpResponse r = fetch(io, client, get(server.url("/stall")));
  EXPECT_TRUE(r.timed_out) << r.error;
}

TEST_F(HttpClient, ConnectionRefusedIsATransportError) {
  // A port that was just free: bind, read the number, close.
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();

  CurlMultiClient client(io, plain_http());
  const HttpResponse r =
      fetch(io, client, get("http://127.0.0.1:" + std::to_string(port) + "/hello"));
  EXPECT_FALSE(r.transport_ok);
  EXPECT_FALSE(r.timed_out);
  EXPECT_THAT(r.error, HasSubstr("CURLE_COULDNT_CONNECT"));
  EXPECT_THAT(r.error, HasSubstr("onnect"));  // curl's own text, e.g. "Connection refused"
}

TEST_F(HttpClient, PlainHttpRefusedUnlessAllowed) {
  CurlMultiClient client(io, HttpClientOptions{});
  bool done = false;
  HttpResponse r;
  client.request(get(server.url("/hello")), [&](HttpResponse&& resp) {
    r = std::move(resp);
    done = true;
  });
  EXPECT_FALSE(done) << "completion must be posted, not run inside request()";
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_FALSE(r.transport_ok);
  EXPECT_THAT(r.error, HasSubstr("http://"));
  EXPECT_THAT(r.error, HasSubstr("allow_plain_http"));
  EXPECT_EQ(server.accepted_connections(), 0);
}

TEST_F(HttpClient, MalformedRequestsFailWithoutNetwork) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse bad_url = fetch(io, client, get("not a url"));
  EXPECT_FALSE(bad_url.transport_ok);
  EXPECT_THAT(bad_url.error, HasSubstr("invalid URL"));

  const HttpResponse ftp = fetch(io, client, get("ftp://127.0.0.1/file"));
  EXPECT_FALSE(ftp.transport_ok);
  EXPECT_THAT(ftp.error, HasSubstr("scheme"));

  HttpRequest injected = get(server.url("/hello"));
  injected.headers = {{"X-Evil", "a\r\nHost: elsewhere"}};
  const HttpResponse header = fetch(io, client, injected);
  EXPECT_FALSE(header.transport_ok);
  EXPECT_THAT(header.error, HasSubstr("X-Evil"));

  HttpRequest method = get(server.url("/hello"));
  method.method = "GET /x HTTP/1.1\r\n";
  EXPECT_FALSE(fetch(io, client, method).transport_ok);
  EXPECT_EQ(server.accepted_connections(), 0);
}

TEST_F(HttpClient, ShutdownFailsInFlightRequestsAndRefusesNewOnes) {
  CurlMultiClient client(io, plain_http());
  std::vector<HttpResponse> results;
  for (int i = 0; i < 5; ++i) {
    client.request(get(server.url("/stall")), [&](HttpResponse&& r) { results.push_back(r); });
  }
  ASSERT_TRUE(run_until(io, [&] { return server.requests_received() == 5; }));
  EXPECT_EQ(client.in_flight(), 5u);
  EXPECT_TRUE(results.empty());

  client.shutdown();
  ASSERT_EQ(results.size(), 5u);
  for (const auto& r : results) {
    EXPECT_FALSE(r.transport_ok);
    EXPECT_EQ(r.error, "shutdown");
  }
  EXPECT_EQ(client.in_flight(), 0u);

  bool refused = false;
  client.request(get(server.url("/hello")), [&](HttpResponse&& r) {
    refused = !r.transport_ok && r.error == "shutdown";
    results.push_back(r);
  });
  ASSERT_TRUE(run_until(io, [&] { return results.size() == 6; }));
  EXPECT_TRUE(refused);
  EXPECT_EQ(server.requests_received(), 5);
}

TEST_F(HttpClient, DestructorNeverRunsCallbacks) {
  int calls = 0;
  {
    CurlMultiClient client(io, plain_http());
    client.request(get(server.url("/stall")), [&](HttpResponse&&) { ++calls; });
    ASSERT_TRUE(run_until(io, [&] { return server.requests_received() == 1; }));
    client.request(get(server.url("/hello")), [&](HttpResponse&&) { ++calls; });  // still queued
  }
  testing::run_for(io, 200ms);  // aborted waits and the queued start drain here
  EXPECT_EQ(calls, 0);
}

TEST_F(HttpClient, CallbackMayDestroyTheClient) {
  auto client = std::make_unique<CurlMultiClient>(io, plain_http());
  int calls = 0;
  client->request(get(server.url("/stall")), [&](HttpResponse&&) { ++calls; });
  client->request(get(server.url("/hello")), [&](HttpResponse&& r) {
    ++calls;
    EXPECT_TRUE(r.transport_ok) << r.error;
    client.reset();
  });
  ASSERT_TRUE(run_until(io, [&] { return client == nullptr; }));
  testing::run_for(io, 100ms);
  EXPECT_EQ(calls, 1);
}

TEST_F(HttpClient, RequestFromAnotherThreadCompletesOnIoThread) {
  CurlMultiClient client(io, plain_http());
  std::atomic<bool> done{false};
  std::thread::id done_on;
  HttpResponse result;
  std::thread caller([&] {
    client.request(get(server.url("/hello")), [&](HttpResponse&& r) {
      result = std::move(r);
      done_on = std::this_thread::get_id();
      done = true;
    });
  });
  ASSERT_TRUE(run_until(io, [&] { return done.load(); }));
  caller.join();
  EXPECT_EQ(done_on, std::this_thread::get_id());
  EXPECT_TRUE(result.transport_ok) << result.error;
}

TEST_F(HttpClient, RateLimitResponsePassesThroughUntouched) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse r = fetch(io, client, get(server.url("/status/429")));
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 429);
  EXPECT_THAT(r.headers, Contains(Pair("Retry-After", "120")));
  EXPECT_EQ(r.body, "slow down");
}

TEST_F(HttpClient, RedirectIsNotFollowed) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse r = fetch(io, client, get(server.url("/redirect")));
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 302);
  EXPECT_THAT(r.headers, Contains(Pair("Location", "/hello")));
  EXPECT_EQ(server.requests_received(), 1);
}

TEST_F(HttpClient, InterimResponseHeadersAreDropped) {
  CurlMultiClient client(io, plain_http());
  const HttpResponse r = fetch(io, client, get(server.url("/continue")));
  ASSERT_TRUE(r.transport_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "final");
  EXPECT_THAT(only_x_headers(r.headers), ElementsAre(Pair("X-Final", "yes")));
}

TEST_F(HttpClient, LargeBodiesArriveIntact) {
  CurlMultiClient client(io, plain_http());
  const std::string large = TestServer::large_body();
  const HttpResponse down = fetch(io, client, get(server.url("/large")));
  ASSERT_TRUE(down.transport_ok) << down.error;
  EXPECT_EQ(down.body.size(), large.size());
  EXPECT_TRUE(down.body == large);

  HttpRequest upload = get(server.url("/echo"));
  upload.method = "POST";
  upload.body = large;
  const HttpResponse echo = fetch(io, client, upload);
  ASSERT_TRUE(echo.transport_ok) << echo.error;
  EXPECT_EQ(echo.body.size(), large.size());
  EXPECT_TRUE(echo.body == large);
  // curl would otherwise send "Expect: 100-continue" for a body this size and stall ~1 s.
  EXPECT_EQ(server.requests().back().header("Expect"), std::nullopt);
}

TEST_F(HttpClient, OversizedResponseFailsTheTransfer) {
  HttpClientOptions options = plain_http();
  options.max_response_bytes = 64 * 1024;
  CurlMultiClient client(io, options);
  const HttpResponse r = fetch(io, client, get(server.url("/large")));
  EXPECT_FALSE(r.transport_ok);
  EXPECT_THAT(r.error, HasSubstr("max_response_bytes"));
  EXPECT_TRUE(r.body.empty());
}

}  // namespace
}  // namespace oemlink::net
