// DriverSet and the driver checks it shares with check-config: real driver libraries from disk
// (the mock, and the test plugins built to fail), no event loop.
#include "core/host/driver_set.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace oemlink::host {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DriverSetTest : public ::testing::Test {
 protected:
  config::Config cfg;
  std::vector<fs::path> dirs{OEMLINK_PLUGIN_DIR, OEMLINK_TEST_PLUGIN_DIR};

  config::DriverConfig& add(const std::string& name, const std::string& library,
                            config::IngestMode mode = config::IngestMode::poll) {
    config::DriverConfig d;
    d.name = name;
    d.library = library;
    d.mode = mode;
    d.key_path = "drivers[" + std::to_string(cfg.drivers.size()) + "]";
    d.position = {"test.yaml", static_cast<int>(cfg.drivers.size()) + 3, 5};
    cfg.drivers.push_back(std::move(d));
    return cfg.drivers.back();
  }
};

TEST_F(DriverSetTest, TheCheckNamesEntryFileAndModeItCannotServe) {
  add("tesla", (fs::path(OEMLINK_TEST_PLUGIN_DIR) / "oemlink-driver-initfail.so").string(),
      config::IngestMode::stream);
  DriverCheckReport report = check_drivers(cfg, dirs);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_THAT(report.errors[0], HasSubstr("test.yaml:3:5: drivers[0].mode: mode stream"));
  EXPECT_THAT(report.errors[0], HasSubstr("has no stream (capabilities: poll)"));
}

TEST_F(DriverSetTest, PollPlusDriverStreamNeedsBothCapabilities) {
  add("mock", "mock", config::IngestMode::poll_and_driver_stream);  // polls and streams
  add("tesla", (fs::path(OEMLINK_TEST_PLUGIN_DIR) / "oemlink-driver-initfail.so").string(),
      config::IngestMode::poll_and_driver_stream);  // polls only
  DriverCheckReport report = check_drivers(cfg, dirs);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_THAT(report.errors[0],
              HasSubstr("test.yaml:4:5: drivers[1].mode: mode poll+driver_stream, but driver"));
  EXPECT_THAT(report.errors[0], HasSubstr("has no stream (capabilities: poll)"));
}

TEST_F(DriverSetTest, AMissingLibraryIsAnErrorOrUnderSkipAWarning) {
  add("gone", "/nonexistent/oemlink-driver-gone.so");
  EXPECT_EQ(check_drivers(cfg, dirs).errors.size(), 1u);
  cfg.drivers[0].on_load_error = config::OnLoadError::skip;
  DriverCheckReport report = check_drivers(cfg, dirs);
  EXPECT_TRUE(report.errors.empty());
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("skipped (on_load_error: skip)"));
  EXPECT_TRUE(report.drivers[0].skipped);
}

TEST_F(DriverSetTest, ValidSettingsComeOutAsJsonForCreate) {
  add("mock", "mock");
  DriverCheckReport report = check_drivers(cfg, dirs);
  ASSERT_TRUE(report.errors.empty()) << report.errors[0];
  EXPECT_EQ(report.drivers[0].settings_json.front(), '{');
  EXPECT_NE(report.drivers[0].descriptor, nullptr);
}

TEST_F(DriverSetTest, ACreateFailureStopsTheStartNamingDriverFileAndMessage) {
  add("tesla", (fs::path(OEMLINK_TEST_PLUGIN_DIR) / "oemlink-driver-initfail.so").string());
  DriverSet set(cfg, dirs);
  try {
    set.load_all(check_drivers(cfg, dirs), nullptr);
    FAIL() << "create failed but load_all went on";
  } catch (const StartupError& e) {
    EXPECT_THAT(e.what(), HasSubstr("driver tesla: init failed in "));
    EXPECT_THAT(e.what(), HasSubstr("oemlink-driver-initfail.so"));
    EXPECT_THAT(e.what(), HasSubstr("initfail: cannot reach token endpoint"));
  }
}

TEST_F(DriverSetTest, UnderSkipAFailingDriverIsSkippedAndTheRestCreated) {
  add("tesla", (fs::path(OEMLINK_TEST_PLUGIN_DIR) / "oemlink-driver-initfail.so").string())
      .on_load_error = config::OnLoadError::skip;
  add("mock", "mock");
  DriverSet set(cfg, dirs);
  int timed = 0;
  set.load_all(check_drivers(cfg, dirs), nullptr, [&](DriverInstance&, const char* call, int64_t) {
    EXPECT_STREQ(call, "create");
    ++timed;
  });
  ASSERT_EQ(set.size(), 2u);
  EXPECT_TRUE(set[0].skipped);
  EXPECT_EQ(set[0].inst, nullptr);
  EXPECT_FALSE(set[1].skipped);
  EXPECT_NE(set[1].inst, nullptr);
  EXPECT_EQ(timed, 2);
  EXPECT_EQ(set.find("mock"), &set[1]);
  EXPECT_EQ(set.find("nope"), nullptr);
  set.destroy_idle({0, 0});
  EXPECT_EQ(set[1].inst, nullptr);
}

TEST_F(DriverSetTest, ABusyDriverIsNeitherDestroyedNorFreedAndItsServicesAreDetached) {
  add("mock", "mock");
  auto set = std::make_unique<DriverSet>(cfg, dirs);
  set->load_all(check_drivers(cfg, dirs), nullptr);
  DriverInstance* d = &(*set)[0];
  set->destroy_idle({1});  // one poll still in flight
  EXPECT_NE(d->inst, nullptr);
  set.reset();
  // Kept alive for good (the driver may still call its table): reachable, not freed.
  EXPECT_EQ(d->services.load(), nullptr);
  EXPECT_NE(d->inst, nullptr);
}

}  // namespace
}  // namespace oemlink::host
