// classify_https_response() as a table: what each answer of the ingest node means for the event.
#include "core/uplink/https_response_classification.hpp"

#include <gtest/gtest.h>

#include <string>

namespace oemlink::uplink {
namespace {

using namespace std::chrono_literals;
using Kind = DeliveryResult::Kind;

net::HttpResponse answer(long status, std::string body = {}, net::Headers headers = {}) {
  net::HttpResponse r;
  r.transport_ok = true;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

net::HttpResponse transport_failure(std::string error) {
  net::HttpResponse r;
  r.transport_ok = false;
  r.error = std::move(error);
  return r;
}

struct Case {
  const char* what;
  net::HttpResponse response;
  Kind kind;
  std::chrono::milliseconds retry_after;
  std::string detail;  // expected exactly
};

TEST(HttpsResponseClassification, MapsEachAnswerToWhatBecomesOfTheEvent) {
  const std::string hint = " (check the sink's url and client certificate)";
  Case cases[] = {
      {"200", answer(200, "ok"), Kind::delivered, 0ms, ""},
      {"201", answer(201), Kind::delivered, 0ms, ""},
      {"204", answer(204), Kind::delivered, 0ms, ""},
      {"299", answer(299), Kind::delivered, 0ms, ""},
      {"400 is final", answer(400, "bad signature"), Kind::rejected, 0ms,
       "HTTP 400: bad signature"},
      {"413 is final", answer(413, "too large"), Kind::rejected, 0ms, "HTTP 413: too large"},
      {"400 ignores Retry-After", answer(400, "no", {{"Retry-After", "5"}}), Kind::rejected, 0ms,
       "HTTP 400: no"},
      {"408", answer(408), Kind::retry, 0ms, "HTTP 408"},
      {"429 with Retry-After", answer(429, "slow down", {{"Retry-After", "120"}}), Kind::retry,
       120s, "HTTP 429: slow down"},
      {"500", answer(500, "oops"), Kind::retry, 0ms, "HTTP 500: oops"},
      {"503 with Retry-After", answer(503, {}, {{"Retry-After", "7"}}), Kind::retry, 7s,
       "HTTP 503"},
      {"599", answer(599), Kind::retry, 0ms, "HTTP 599"},
      {"401 is configuration", answer(401, "who are you"), Kind::retry, 0ms,
       "HTTP 401" + hint + ": who are you"},
      {"403 is configuration", answer(403), Kind::retry, 0ms, "HTTP 403" + hint + ": "},
      {"404 is configuration", answer(404, "no route", {{"Retry-After", "3"}}), Kind::retry, 3s,
       "HTTP 404" + hint + ": no route"},
      {"3xx is configuration", answer(301), Kind::retry, 0ms, "HTTP 301" + hint + ": "},
      {"timeout", transport_failure("Timeout was reached (28)"), Kind::retry, 0ms,
       "Timeout was reached (28)"},
      {"refused", transport_failure("Couldn't connect to server (7)"), Kind::retry, 0ms,
       "Couldn't connect to server (7)"},
      {"TLS names the certificate", transport_failure("SSL peer certificate was not OK (60)"),
       Kind::retry, 0ms,
       "TLS handshake failed (client certificate /etc/oemlink/client.pem): SSL peer certificate "
       "was not OK (60)"},
  };
  for (const Case& c : cases) {
    DeliveryResult r = classify_https_response(c.response, "/etc/oemlink/client.pem");
    EXPECT_EQ(r.kind, c.kind) << c.what;
    EXPECT_EQ(r.retry_after, c.retry_after) << c.what;
    EXPECT_EQ(r.detail, c.detail) << c.what;
  }
}

TEST(HttpsResponseClassification, ReadsRetryAfterAsSecondsOnly) {
  struct {
    const char* what;
    net::Headers headers;
    std::chrono::milliseconds expected;
  } cases[] = {
      {"absent", {}, 0ms},
      {"seconds", {{"Retry-After", "30"}}, 30s},
      {"any case", {{"retry-after", "2"}}, 2s},
      {"leading space", {{"Retry-After", "  4"}}, 4s},
      {"zero", {{"Retry-After", "0"}}, 0ms},
      {"capped at a day", {{"Retry-After", "999999"}}, 86'400s},
      {"HTTP date: treated as absent", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}, 0ms},
      {"negative: absent", {{"Retry-After", "-5"}}, 0ms},
      {"among others", {{"Content-Type", "text/plain"}, {"RETRY-AFTER", "9"}}, 9s},
  };
  for (auto& c : cases)
    EXPECT_EQ(classify_https_response(answer(503, {}, c.headers), {}).retry_after, c.expected)
        << c.what;
}

TEST(HttpsResponseClassification, APeersTextIsKeptOnOneLineAndBounded) {
  DeliveryResult r = classify_https_response(answer(400, "line one\r\nline two\n  \n"), {});
  EXPECT_EQ(r.detail, "HTTP 400: line one  line two");
  r = classify_https_response(answer(400, std::string(2000, 'x')), {});
  EXPECT_EQ(r.detail, "HTTP 400: " + std::string(500, 'x'));
}

TEST(HttpsResponseClassification, ATlsFailureWithoutAClientCertificateIsReportedAsIs) {
  DeliveryResult r =
      classify_https_response(transport_failure("TLS connect error: unknown CA (35)"), {});
  EXPECT_EQ(r.kind, Kind::retry);
  EXPECT_EQ(r.detail, "TLS connect error: unknown CA (35)");
}

}  // namespace
}  // namespace oemlink::uplink
