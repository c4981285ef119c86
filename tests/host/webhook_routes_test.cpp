// WebhookRoutes between a real HttpListener and a scripted C driver, with the DurabilityGate
// driven by hand: a 2xx waits for the outbox, a slow outbox gets 503, a silent driver 504, and
// nothing reaches a driver after shutdown.
#include "core/host/webhook_routes.hpp"
#include "tests/net/listener_fixture.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace oemlink::host {
namespace {

using namespace std::chrono_literals;
using net::testing::post_request;
using net::testing::RawClient;

// What the scripted driver saw and how it answers.
struct Script {
  std::mutex mu;
  int calls = 0;
  std::string url, body, signature;
  oemlink_webhook_respond_fn respond = nullptr;
  void* ctx = nullptr;
  int answer_now = 0;  // 0: keep respond for later
  oemlink_status returns = OEMLINK_OK;

  void answer(int status, std::string_view body_text = "{}") {
    oemlink_webhook_respond_fn fn;
    void* c;
    {
      std::lock_guard lock(mu);
      fn = respond;
      c = ctx;
    }
    oemlink_http_header h{{"X-Driver", 8}, {"yes", 3}};
    oemlink_http_response r{};
    r.struct_size = sizeof r;
    r.status = OEMLINK_OK;
    r.http_status = status;
    r.headers = &h;
    r.header_count = 1;
    r.body = {body_text.data(), body_text.size()};
    fn(c, &r);
  }
};

oemlink_status OEMLINK_CALL scripted_webhook(oemlink_instance* inst, const oemlink_http_request* r,
                                             oemlink_webhook_respond_fn respond, void* ctx) {
  auto* s = reinterpret_cast<Script*>(inst);
  int now;
  {
    std::lock_guard lock(s->mu);
    ++s->calls;
    s->url.assign(r->url.data, r->url.size);
    s->body.assign(r->body.data, r->body.size);
    for (size_t i = 0; i < r->header_count; ++i)
      if (std::string_view(r->headers[i].name.data, r->headers[i].name.size) == "SC-Signature")
        s->signature.assign(r->headers[i].value.data, r->headers[i].value.size);
    s->respond = respond;
    s->ctx = ctx;
    now = s->answer_now;
  }
  if (s->returns != OEMLINK_OK) return s->returns;
  if (now) s->answer(now, R"({"ok":true})");
  return OEMLINK_OK;
}

class WebhookRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    desc_.struct_size = sizeof desc_;
    desc_.capabilities = OEMLINK_CAP_WEBHOOK;
    desc_.webhook = &scripted_webhook;
    pollonly_.struct_size = sizeof pollonly_;
    pollonly_.capabilities = OEMLINK_CAP_POLL;
    hooked_.name = "hooked";
    hooked_.d = &desc_;
    hooked_.inst = reinterpret_cast<oemlink_instance*>(&script_);
    polled_.name = "polled";
    polled_.d = &pollonly_;
    polled_.inst = reinterpret_cast<oemlink_instance*>(&script_);
  }

  void start(std::chrono::milliseconds durable_timeout = 2s) {
    webhooks_ = std::make_unique<WebhookRoutes>(
        h_.io(), gate_, [this] { return taken_.load(); }, metrics_, durable_timeout);
    EXPECT_TRUE(webhooks_->add(h_.routes(), hooked_));
    EXPECT_FALSE(webhooks_->add(h_.routes(), polled_));
    h_.start({});
  }
  void TearDown() override {
    h_.on_loop([this] {
      webhooks_.reset();
      return 0;
    });
    h_.stop();
  }

  // The signing stage took `n` batches; the gate sees them settle under receipts 1..n.
  void settle(uint64_t n) {
    h_.on_loop([&] {
      for (uint64_t i = 0; i < n; ++i) {
        gate_.batch_submitted(0);
        gate_.batch_settled(0, ++receipt_);
      }
      return 0;
    });
  }
  void durable(uint64_t seq) {
    h_.on_loop([&] {
      gate_.durable_through(seq);
      return 0;
    });
  }
  uint64_t counter(std::string_view name, const MetricLabels& labels = {}) {
    return static_cast<uint64_t>(metrics_.total(name, labels));
  }
  int calls() {
    std::lock_guard lock(script_.mu);
    return script_.calls;
  }

  net::testing::ListenerHarness h_;
  MetricsRegistry metrics_;
  DurabilityGate gate_{1, /*with_outbox=*/true, 0,
                       [](uint32_t, oemlink_status, const std::string&) {}};
  std::atomic<uint64_t> taken_{0};
  uint64_t receipt_ = 0;
  Script script_;
  oemlink_driver desc_{};
  oemlink_driver pollonly_{};
  DriverInstance hooked_, polled_;
  std::unique_ptr<WebhookRoutes> webhooks_;
};

TEST_F(WebhookRoutesTest, A2xxIsHeldUntilTheOutboxHasCommittedWhatTheDriverEmitted) {
  script_.answer_now = 200;
  taken_ = 2;  // the driver's emits: the signing stage has taken two batches when it answers
  start();
  RawClient c(h_.port(), 300ms);
  c.send(post_request("/webhooks/hooked?v=4", R"({"eventId":"e1"})", "SC-Signature: abc\r\n"));
  auto early = c.response();
  EXPECT_FALSE(early) << "answered before anything was signed: " << early->result_int() << " "
                      << early->body();
  settle(2);  // signed and stored under receipts 1 and 2, not yet committed
  EXPECT_FALSE(c.response()) << "answered before the outbox commit";
  durable(1);
  EXPECT_FALSE(c.response()) << "answered with receipt 2 not committed";
  durable(2);
  RawClient::Response res;
  for (int i = 0; i < 20 && !(res = c.response()); ++i) {
  }
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), R"({"ok":true})");
  EXPECT_EQ((*res)["X-Driver"], "yes");
  EXPECT_EQ(script_.url, "/webhooks/hooked?v=4");
  EXPECT_EQ(script_.body, R"({"eventId":"e1"})");
  EXPECT_EQ(script_.signature, "abc");
  EXPECT_EQ(
      counter("oemlink_webhook_answers_total", {{"driver", "hooked"}, {"outcome", "answered_2xx"}}),
      1u);
  EXPECT_EQ(
      counter("oemlink_webhook_answers_total", {{"driver", "hooked"}, {"outcome", "not_durable"}}),
      0u);
}

TEST_F(WebhookRoutesTest, NothingEmittedMeansNoWait) {
  script_.answer_now = 204;
  start();
  RawClient c(h_.port());
  c.send(post_request("/webhooks/hooked", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 204);
}

TEST_F(WebhookRoutesTest, NotDurableWithinTheTimeoutIs503SoTheSenderRetries) {
  script_.answer_now = 200;
  taken_ = 1;
  start(/*durable_timeout=*/300ms);
  RawClient c(h_.port());
  auto t0 = std::chrono::steady_clock::now();
  c.send(post_request("/webhooks/hooked", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503);
  EXPECT_EQ((*res)["Retry-After"], "5");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(
      counter("oemlink_webhook_answers_total", {{"driver", "hooked"}, {"outcome", "not_durable"}}),
      1u);
  // Durable later: nothing more is sent, nothing breaks.
  settle(1);
  durable(1);
  c.send(post_request("/webhooks/hooked", "{}"));
  res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
}

TEST_F(WebhookRoutesTest, Non2xxIsRelayedWithoutWaiting) {
  script_.answer_now = 401;
  taken_ = 5;  // far from durable
  start();
  RawClient c(h_.port());
  c.send(post_request("/webhooks/hooked", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 401);
  EXPECT_EQ(counter("oemlink_webhook_answers_total",
                    {{"driver", "hooked"}, {"outcome", "answered_other"}}),
            1u);
}

TEST_F(WebhookRoutesTest, ADriverThatNeverAnswersGets504AndItsLateAnswerIsIgnored) {
  start(/*durable_timeout=*/200ms);
  RawClient c(h_.port());
  c.send(post_request("/webhooks/hooked", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 504);
  EXPECT_EQ(
      counter("oemlink_webhook_answers_total", {{"driver", "hooked"}, {"outcome", "no_answer"}}),
      1u);
  // The late answer, from another thread, after the connection is gone.
  c.socket().close();
  std::thread([this] { script_.answer(200); }).join();
  std::thread([this] { script_.answer(200); }).join();  // and a second one
  RawClient d(h_.port());
  script_.answer_now = 202;
  d.send(post_request("/webhooks/hooked", "{}"));
  res = d.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 202);
}

TEST_F(WebhookRoutesTest, WebhookReturningAnErrorIs500) {
  script_.returns = OEMLINK_ERROR;
  start();
  RawClient c(h_.port());
  c.send(post_request("/webhooks/hooked", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 500);
  EXPECT_EQ(counter("oemlink_webhook_answers_total",
                    {{"driver", "hooked"}, {"outcome", "driver_refused"}}),
            1u);
}

TEST_F(WebhookRoutesTest, UnknownInstanceAndInstanceWithoutWebhookAre404) {
  start();
  for (const char* path : {"/webhooks/nobody", "/webhooks/polled", "/webhooks/"}) {
    RawClient c(h_.port());
    c.send(post_request(path, "{}"));
    auto res = c.response();
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->result_int(), 404) << path;
  }
  EXPECT_EQ(calls(), 0);
}

// The webhook series carry the driver's name as configured: "smart-car" and "smart_car" are two
// drivers, and their counters must not add up in one series.
TEST_F(WebhookRoutesTest, AHyphenatedDriversSeriesCarryItsNameAsConfigured) {
  hooked_.name = "smart-car";
  script_.answer_now = 401;
  start();
  RawClient c(h_.port());
  c.send(post_request("/webhooks/smart-car", "{}"));
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 401);
  EXPECT_EQ(counter("oemlink_webhook_signature_failures_total", {{"driver", "smart-car"}}), 1u);
  EXPECT_EQ(counter("oemlink_webhook_answers_total",
                    {{"driver", "smart-car"}, {"outcome", "answered_other"}}),
            1u);
  EXPECT_EQ(counter("oemlink_webhook_signature_failures_total", {{"driver", "smart_car"}}), 0u);
}

TEST_F(WebhookRoutesTest, ShutdownAnswersHeldWebhooks503AndCallsNoDriverAfter) {
  script_.answer_now = 200;
  taken_ = 1;
  start();
  RawClient c(h_.port());
  c.send(post_request("/webhooks/hooked", "{}"));
  for (int i = 0; i < 100 && h_.on_loop([this] { return webhooks_->in_flight(); }) == 0; ++i)
    std::this_thread::sleep_for(5ms);
  h_.on_loop([this] {
    webhooks_->close();
    return 0;
  });
  auto res = c.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503);
  RawClient d(h_.port());
  d.send(post_request("/webhooks/hooked", "{}"));
  res = d.response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503);
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(
      counter("oemlink_webhook_answers_total", {{"driver", "hooked"}, {"outcome", "shutdown"}}),
      2u);
  // The gate releasing later finds nothing to answer.
  settle(1);
  durable(1);
  std::thread([this] { script_.answer(200); }).join();
}

}  // namespace
}  // namespace oemlink::host
