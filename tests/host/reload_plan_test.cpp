// ReloadPlan: which differences a reload applies live and which refuse it, by name.
#include "core/host/reload_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace oemlink::host {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A valid config; `extra` goes at the top (it moves every line below it) and the sinks section
// is replaced by `sinks` when given.
config::Config parse(const std::string& extra = "", const std::string& data_dir = "var/a",
                     const std::string& sinks = "", const std::string& drivers = "") {
  std::string yaml =
      extra + "data_dir: " + data_dir + R"(
logging: {level: info}
vault: {create_if_missing: true, kek: {file: kek.hex}}
drivers:
  - name: mock
    library: mock
    poll_interval: 5s
    settings: {seed: 42}
)" + drivers +
      R"(
connections:
  - {id: car-1, driver: mock, vin: 5YJ3E1EA7KF000001, key_child: 1}
sinks:
)" +
      (sinks.empty()
           ? "  - {name: events, type: file, path: events.jsonl}\n  - {name: copy, type: file, "
             "path: copy.jsonl}\n"
           : sinks);
  return config::load_config_text(yaml, "test.yaml", "/tmp");
}

TEST(ReloadPlan, TheSameConfigChangesNothing) {
  ReloadPlan p = plan_reload(parse(), parse());
  EXPECT_FALSE(p.refused());
  EXPECT_TRUE(p.empty());
}

TEST(ReloadPlan, MovedLinesAreNotChanges) {
  // Comment lines at the top move every position: nothing differs but where things are.
  ReloadPlan p = plan_reload(parse(), parse("# one\n# two\n# three\n"));
  EXPECT_FALSE(p.refused());
  EXPECT_TRUE(p.empty()) << refusal_line(p);
}

TEST(ReloadPlan, SinksAddedRemovedAndChangedAreLiveByName) {
  ReloadPlan p = plan_reload(parse(), parse("", "var/a",
                                            "  - {name: events, type: file, path: other.jsonl}\n"
                                            "  - {name: third, type: file, path: third.jsonl}\n"));
  EXPECT_FALSE(p.refused()) << refusal_line(p);
  EXPECT_THAT(p.sinks_changed, ElementsAre("events"));
  EXPECT_THAT(p.sinks_added, ElementsAre("third"));
  EXPECT_THAT(p.sinks_removed, ElementsAre("copy"));
}

TEST(ReloadPlan, LoggingLevelIsLiveButNotItsFormatOrFile) {
  config::Config next = parse();
  next.logging.level = "debug";
  ReloadPlan p = plan_reload(parse(), next);
  EXPECT_FALSE(p.refused());
  ASSERT_TRUE(p.logging_level);
  EXPECT_EQ(*p.logging_level, "debug");

  next.logging.format = config::LogFormat::json;
  next.logging.file = "/tmp/x.log";
  p = plan_reload(parse(), next);
  EXPECT_THAT(p.not_live, ElementsAre("logging.format", "logging.file"));
}

TEST(ReloadPlan, DataDirAndVaultAreNamedInOneRefusal) {
  config::Config next = parse("", "var/b");
  next.vault.create_if_missing = false;
  ReloadPlan p = plan_reload(parse(), next);
  ASSERT_TRUE(p.refused());
  EXPECT_THAT(p.not_live, ElementsAre("data_dir", "vault"));
  EXPECT_EQ(refusal_line(p),
            "reload refused: data_dir, vault cannot change while running; restart to apply");
}

TEST(ReloadPlan, EverySettingThatIsNotLiveIsNamed) {
  const config::Config running = parse();
  auto named = [&](auto change) {
    config::Config next = parse();
    change(next);
    return plan_reload(running, next).not_live;
  };
  EXPECT_THAT(named([](auto& c) { c.data_kek = KekSourceConfig{}; }), ElementsAre("data_kek"));
  EXPECT_THAT(named([](auto& c) { c.outbox.max_records = 5; }), ElementsAre("outbox"));
  EXPECT_THAT(named([](auto& c) { c.http.allow_plain_http = true; }), ElementsAre("http"));
  EXPECT_THAT(named([](auto& c) { c.schedule.jitter = 0.5; }), ElementsAre("schedule"));
  EXPECT_THAT(named([](auto& c) { c.dimo.chain_id = 80002; }), ElementsAre("dimo"));
  EXPECT_THAT(named([](auto& c) { c.linking.max_pending = 3; }), ElementsAre("linking"));
  EXPECT_THAT(named([](auto& c) { c.listeners.admin.emplace(); }), ElementsAre("listeners.admin"));
  EXPECT_THAT(named([](auto& c) { c.listeners.inbound.emplace(); }),
              ElementsAre("listeners.inbound"));
  EXPECT_THAT(named([](auto& c) { c.listeners.operations.emplace(); }),
              ElementsAre("listeners.operations"));
  EXPECT_THAT(named([](auto& c) { c.sinks.clear(); }), ElementsAre("sinks (none vs some)"));
}

TEST(ReloadPlan, DriversAddedRemovedAndChangedAreLiveByName) {
  config::Config next = parse();
  next.drivers[0].poll_interval = std::chrono::seconds(9);
  ReloadPlan p = plan_reload(parse(), next);
  EXPECT_FALSE(p.refused()) << refusal_line(p);
  EXPECT_FALSE(p.empty());
  EXPECT_THAT(p.drivers_changed, ElementsAre("mock"));
  // A driver's settings, compared as written.
  next = parse();
  next.drivers[0].settings.entries[0].value.text = "43";
  EXPECT_THAT(plan_reload(parse(), next).drivers_changed, ElementsAre("mock"));
  // An added driver instance, and the same one taken away again.
  const std::string mock2 = "  - name: mock2\n    library: mock\n    settings: {seed: 1}\n";
  next = parse("", "var/a", "", mock2);
  p = plan_reload(parse(), next);
  EXPECT_THAT(p.drivers_added, ElementsAre("mock2"));
  EXPECT_THAT(p.drivers_changed, IsEmpty());
  p = plan_reload(next, parse());
  EXPECT_THAT(p.drivers_removed, ElementsAre("mock2"));
  EXPECT_THAT(p.drivers_added, IsEmpty());
  // Moved lines alone change no driver.
  EXPECT_FALSE(plan_reload(next, parse("# moved\n", "var/a", "", mock2)).drivers_changed_any());
}

TEST(ReloadPlan, ConnectionsAreLeftToTheStore) {
  // The running Config no longer holds its connections (they live in the connection store);
  // the plan never refuses or lists them.
  config::Config running = parse();
  running.connections.clear();
  ReloadPlan p = plan_reload(running, parse());
  EXPECT_FALSE(p.refused());
  EXPECT_TRUE(p.empty());
  EXPECT_THAT(p.not_live, IsEmpty());
}

}  // namespace
}  // namespace oemlink::host
