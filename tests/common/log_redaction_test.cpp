// redact_secrets: the forms a token, a client secret or a password takes in a message.
#include "core/common/log_redaction.hpp"

#include <gtest/gtest.h>

namespace oemlink {
namespace {

TEST(LogRedaction, KeyValueFormsLoseTheirValues) {
  EXPECT_EQ(redact_secrets(R"({"access_token":"abc.def","expires_in":3600})"),
            R"({"access_token":"[redacted]","expires_in":3600})");
  EXPECT_EQ(redact_secrets("grant_type=refresh_token&refresh_token=rt-1%2F2&client_id=x"),
            "grant_type=refresh_token&refresh_token=[redacted]&client_id=x");
  EXPECT_EQ(redact_secrets("client_secret: s3cr3t, next"), "client_secret: [redacted], next");
  EXPECT_EQ(redact_secrets("PASSWORD='p a s s' ok"), "PASSWORD='[redacted]' ok");
  EXPECT_EQ(redact_secrets(R"("token" : "q\"w")"), R"("token" : "[redacted]")");
  EXPECT_EQ(redact_secrets("admin_token=abcdefabcdefabcdef"), "admin_token=[redacted]");
}

TEST(LogRedaction, AuthorizationCredentialsAreMaskedAndTheSchemeKept) {
  EXPECT_EQ(redact_secrets("Authorization: Bearer eyA.b-c_d"), "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact_secrets("sent authorization=Basic dXNlcjpwYXNz= to x"),
            "sent authorization=Basic [redacted] to x");
  EXPECT_EQ(redact_secrets("header bearer   abc123 end"), "header bearer   [redacted] end");
  EXPECT_EQ(redact_secrets("Authorization: xyz-raw"), "Authorization: [redacted]");
}

TEST(LogRedaction, JwtShapedStringsAreMaskedAnywhere) {
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz-_";
  EXPECT_EQ(redact_secrets("got " + jwt + " back"), "got [redacted] back");
}

TEST(LogRedaction, OrdinaryMessagesAreUnchanged) {
  for (const char* m :
       {"connection car-1 (driver tesla): poll RETRY: HTTP 503 (failure #2, next poll in 4 s)",
        "tesla: account a1: refresh token refused (invalid_grant); needs re-authentication",
        "vehicle_token_id: 12, synthetic_token_id: 13", "sink ingest: event 2f9c delivered",
        "basic checks passed", "the tokens of car-1 were rotated", "bearer", ""}) {
    EXPECT_EQ(redact_secrets(m), m);
  }
}

}  // namespace
}  // namespace oemlink
