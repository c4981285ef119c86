// `linking:`: the OAuth linking flow's limits, their defaults and the errors an operator sees.
#include "tests/config/test_support.hpp"

#include <gmock/gmock.h>

namespace oemlink::config::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(LinkingConfig, AbsentKeepsTheDefaults) {
  Config config = load_config_text("data_dir: /tmp/x\n", "test.yaml", "/etc/oemlink");
  EXPECT_EQ(config.linking.state_ttl, 10min);
  EXPECT_EQ(config.linking.max_pending, 10'000u);
  EXPECT_EQ(config.linking.grant_ttl, 1h);
}

TEST(LinkingConfig, ReadsEveryKey) {
  Config config = load_config_text(yaml(R"(
data_dir: /tmp/x
linking:
  state_ttl: 5m
  max_pending: 250
  grant_ttl: 2h
)"),
                                   "test.yaml", "/etc/oemlink");
  EXPECT_EQ(config.linking.state_ttl, 5min);
  EXPECT_EQ(config.linking.max_pending, 250u);
  EXPECT_EQ(config.linking.grant_ttl, 2h);
  EXPECT_EQ(config.linking.position.line, 3);  // where the mapping starts
}

TEST(LinkingConfig, BadValuesAreNamedWithTheirPosition) {
  std::string error = load_error(yaml(R"(
linking:
  state_ttl: 5s
  max_pending: 0
  grant_ttl: 30d
  state_tll: 1m
)"));
  EXPECT_THAT(error, HasSubstr("test.yaml:2:14: linking.state_ttl: must be between 1m and 24h"));
  EXPECT_THAT(error, HasSubstr("test.yaml:3:16: linking.max_pending: must be at least 1"));
  EXPECT_THAT(error, HasSubstr("test.yaml:4:14: linking.grant_ttl: must be between 1m and 7d"));
  EXPECT_THAT(error, HasSubstr("linking.state_tll"));
  EXPECT_THAT(error, HasSubstr("state_ttl"));  // did you mean
}

}  // namespace
}  // namespace oemlink::config::testing
