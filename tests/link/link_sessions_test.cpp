// LinkSessions and MintGrants: single use, expiry on a fake clock, the cap, the browser binding,
// and the PKCE challenge against RFC 7636's own example.
#include "core/link/link_sessions.hpp"
#include "core/link/mint_grants.hpp"

#include <gtest/gtest.h>

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <set>

namespace oemlink::link {
namespace {

using namespace std::chrono_literals;
using Verdict = LinkSessions::Verdict;

LinkRequest request_for(std::string driver, std::string owner = "") {
  LinkRequest r;
  r.driver = std::move(driver);
  r.owner = std::move(owner);
  return r;
}

TEST(LinkTokens, PkceChallengeIsRfc7636AppendixB) {
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(LinkTokens, RandomTokensAre32BytesOfBase64UrlAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string t = random_token();
    ASSERT_EQ(t.size(), 43u);  // 32 bytes, no padding
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(LinkTokens, Base64UrlOfEveryTailLength) {
  const uint8_t bytes[] = {0xfb, 0xff, 0xbf, 0x00};
  EXPECT_EQ(base64url(bytes, 1), "-w");
  EXPECT_EQ(base64url(bytes, 2), "-_8");
  EXPECT_EQ(base64url(bytes, 3), "-_-_");
  EXPECT_EQ(base64url(bytes, 4), "-_-_AA");
}

TEST(LinkSessions, AStateIsTakenOnceWithItsCookieAndVerifier) {
  LinkSessions s(10min, 100);
  auto started = s.begin(request_for("mock", "0xabc"), /*pkce=*/true, 1000);
  ASSERT_TRUE(started);
  EXPECT_NE(started->state, started->nonce);
  EXPECT_EQ(s.pending(), 1u);
  auto taken = s.take("mock", started->state, started->nonce, 2000);
  ASSERT_EQ(taken.verdict, Verdict::ok);
  ASSERT_TRUE(taken.link);
  EXPECT_EQ(taken.link->request().owner, "0xabc");
  EXPECT_EQ(pkce_challenge(taken.link->verifier()), started->challenge);
  EXPECT_EQ(s.pending(), 0u);
  // Replayed: gone.
  EXPECT_EQ(s.take("mock", started->state, started->nonce, 2000).verdict, Verdict::unknown);
}

TEST(LinkSessions, WithoutPkceThereIsNoVerifierNorChallenge) {
  LinkSessions s(10min, 100);
  auto started = s.begin(request_for("mock"), false, 0);
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->challenge.empty());
  auto taken = s.take("mock", started->state, started->nonce, 1);
  ASSERT_EQ(taken.verdict, Verdict::ok);
  EXPECT_TRUE(taken.link->verifier().empty());
}

TEST(LinkSessions, AForgedStateIsUnknown) {
  LinkSessions s(10min, 100);
  auto started = s.begin(request_for("mock"), true, 0);
  EXPECT_EQ(s.take("mock", random_token(), started->nonce, 1).verdict, Verdict::unknown);
  EXPECT_EQ(s.take("mock", "", started->nonce, 1).verdict, Verdict::unknown);
  EXPECT_EQ(s.pending(), 1u);  // the real one is untouched
}

TEST(LinkSessions, AWrongOrMissingCookieRefusesAndUsesUpTheState) {
  LinkSessions s(10min, 100);
  auto a = s.begin(request_for("mock"), true, 0);
  auto b = s.begin(request_for("mock"), true, 0);
  EXPECT_EQ(s.take("mock", a->state, b->nonce, 1).verdict, Verdict::wrong_browser);
  EXPECT_EQ(s.take("mock", a->state, a->nonce, 1).verdict, Verdict::unknown);  // single use
  EXPECT_EQ(s.take("mock", b->state, "", 1).verdict, Verdict::wrong_browser);
}

TEST(LinkSessions, AStateOfAnotherDriverIsUnknownThere) {
  LinkSessions s(10min, 100);
  auto a = s.begin(request_for("tesla"), true, 0);
  EXPECT_EQ(s.take("smartcar", a->state, a->nonce, 1).verdict, Verdict::unknown);
}

TEST(LinkSessions, AStateExpiresAfterTheTtl) {
  LinkSessions s(10min, 100);
  auto a = s.begin(request_for("mock"), true, 0);
  auto b = s.begin(request_for("mock"), true, 0);
  const int64_t ttl = std::chrono::milliseconds(10min).count();
  EXPECT_EQ(s.take("mock", a->state, a->nonce, ttl - 1).verdict, Verdict::ok);
  EXPECT_EQ(s.take("mock", b->state, b->nonce, ttl).verdict, Verdict::expired);
  EXPECT_EQ(s.pending(), 0u);
}

TEST(LinkSessions, TheCapRefusesUntilTheOldestExpire) {
  LinkSessions s(1min, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.begin(request_for("mock"), true, i * 1000));
  EXPECT_FALSE(s.begin(request_for("mock"), true, 30'000));
  EXPECT_EQ(s.pending(), 3u);
  // The first expires at 60 s: exactly one place frees up.
  EXPECT_TRUE(s.begin(request_for("mock"), true, 60'000));
  EXPECT_FALSE(s.begin(request_for("mock"), true, 60'000));
  EXPECT_EQ(s.pending(), 3u);
  EXPECT_EQ(s.sweep(200'000), 3u);
  EXPECT_EQ(s.pending(), 0u);
}

TEST(LinkSessions, CancelForgetsAStartThatFailed) {
  LinkSessions s(1min, 3);
  auto a = s.begin(request_for("mock"), true, 0);
  s.cancel(a->state);
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.take("mock", a->state, a->nonce, 1).verdict, Verdict::unknown);
}

// linking.max_pending's default: what it costs in memory and time (printed for BENCHMARKS.md).
TEST(LinkSessions, TenThousandPendingLinksCostLittle) {
  constexpr int kLinks = 10'000;
  LinkSessions s(10min, kLinks);
  std::vector<std::pair<std::string, std::string>> kept;  // state, nonce
  kept.reserve(kLinks);
  const size_t heap_before = mallinfo2().uordblks;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kLinks; ++i) {
    auto started = s.begin(request_for("mock", "0x00000000000000000000000000000000000000aa"),
                           /*pkce=*/true, i);
    ASSERT_TRUE(started);
    kept.emplace_back(std::move(started->state), std::move(started->nonce));
  }
  auto t1 = std::chrono::steady_clock::now();
  // What the test keeps is 2 strings of 43 characters per link, outside the sessions.
  const double bytes_per_link =
      (static_cast<double>(mallinfo2().uordblks - heap_before) / kLinks) - 2 * 48;
  EXPECT_FALSE(s.begin(request_for("mock"), true, kLinks));  // full
  for (const auto& [state, nonce] : kept)
    ASSERT_EQ(s.take("mock", state, nonce, kLinks).verdict, Verdict::ok);
  auto t2 = std::chrono::steady_clock::now();
  const double start_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kLinks;
  const double take_us = std::chrono::duration<double, std::micro>(t2 - t1).count() / kLinks;
  std::printf(
      "[ measured ] %d pending links: %.0f bytes each; start %.1f us, callback check "
      "%.1f us\n",
      kLinks, bytes_per_link, start_us, take_us);
  EXPECT_LT(bytes_per_link, 1024);  // a few MB at the default cap
  EXPECT_LT(start_us, 1000);        // three RAND_bytes and two SHA-256s, not a bottleneck
  EXPECT_EQ(s.pending(), 0u);
}

TEST(MintGrants, AGrantCoversItsConnectionsOfItsDriverUntilItExpires) {
  MintGrants g(1h, 10);
  std::string t = g.issue("mock", {"c1", "c2"}, "0xowner", 0);
  EXPECT_EQ(g.check(t, "mock", "c1", 1).verdict, MintGrants::Verdict::ok);
  EXPECT_EQ(g.check(t, "mock", "c2", 1).owner, "0xowner");
  EXPECT_EQ(g.check(t, "mock", "c3", 1).verdict, MintGrants::Verdict::not_covered);
  EXPECT_EQ(g.check(t, "tesla", "c1", 1).verdict, MintGrants::Verdict::not_covered);
  EXPECT_EQ(g.check(random_token(), "mock", "c1", 1).verdict, MintGrants::Verdict::unknown);
  EXPECT_EQ(g.check("", "mock", "c1", 1).verdict, MintGrants::Verdict::unknown);
  // Reusable until it expires (a retry after a lost answer), then gone.
  EXPECT_EQ(g.check(t, "mock", "c1", 3'599'999).verdict, MintGrants::Verdict::ok);
  EXPECT_EQ(g.check(t, "mock", "c1", 3'600'000).verdict, MintGrants::Verdict::unknown);
  EXPECT_EQ(g.size(), 0u);
}

// The callback's cars as the maker listed them travel with the grant to /mint, so the owner's
// browser does not have to send make, model and year back.
TEST(MintGrants, AGrantRemembersEachCarAsTheMakerListedIt) {
  MintGrants g(1h, 10);
  std::string t =
      g.issue("tesla", {"c1", "c2"}, "0xowner", 0, {{"c1", {"Tesla", "Model 3", 2022}}});
  MintGrants::Check c1 = g.check(t, "tesla", "c1", 1);
  EXPECT_EQ(c1.car.make, "Tesla");
  EXPECT_EQ(c1.car.model, "Model 3");
  EXPECT_EQ(c1.car.year, 2022u);
  MintGrants::Check c2 = g.check(t, "tesla", "c2", 1);
  EXPECT_EQ(c2.verdict, MintGrants::Verdict::ok);
  EXPECT_EQ(c2.car.make, "");
  EXPECT_EQ(g.check(t, "tesla", "c3", 1).car.make, "");
}

TEST(MintGrants, BeyondTheCapTheOldestGoesAndIsCounted) {
  MintGrants g(1h, 2);
  std::string a = g.issue("mock", {"a"}, "", 0);
  std::string b = g.issue("mock", {"b"}, "", 1);
  std::string c = g.issue("mock", {"c"}, "", 2);
  EXPECT_EQ(g.dropped(), 1u);
  EXPECT_EQ(g.check(a, "mock", "a", 3).verdict, MintGrants::Verdict::unknown);
  EXPECT_EQ(g.check(c, "mock", "c", 3).verdict, MintGrants::Verdict::ok);
}

}  // namespace
}  // namespace oemlink::link
