// PipelineAssembly: the event path is built in order from the configuration, sinks come from the
// registry main filled, and whatever cannot be built stops the start naming the part at fault.
#include "core/host/pipeline_assembly.hpp"

#include "core/host/driver_set.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace oemlink::host {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class PipelineAssemblyTest : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("oemlink-assembly-" + std::to_string(getpid()));
  config::Config cfg;
  boost::asio::io_context io;
  MetricsRegistry metrics;
  uplink::SinkRegistry sinks;

  void SetUp() override {
    fs::remove_all(dir);
    cfg.data_dir = dir;
    cfg.vault.file = dir / "vault.sealed";
    cfg.vault.kek.kind = KekSourceConfig::Kind::file;
    cfg.vault.kek.value = (dir / "kek.hex").string();
    cfg.vault.create_if_missing = true;
    config::SinkConfig s;
    s.name = "events";
    s.type = "file";
    s.file.path = dir / "events.jsonl";
    s.position = {"test.yaml", 9, 5};
    cfg.sinks.push_back(s);
  }
  void TearDown() override { fs::remove_all(dir); }
  AssemblyHooks hooks() {
    return {.durable = [](uint64_t) {}, .settled = [](uint32_t, uint64_t) {}};
  }
};

TEST_F(PipelineAssemblyTest, BuildsVaultOutboxAndOneDispatcherPerSink) {
  uplink::register_builtin_sinks(sinks);
  PipelineAssembly a(cfg, io, metrics, sinks, {}, nullptr, hooks());
  ASSERT_NE(a.outbox(), nullptr);
  EXPECT_TRUE(fs::exists(dir / "outbox.db"));
  EXPECT_TRUE(fs::exists(dir / "outbox.key"));
  auto stats = a.sink_stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].first, "events");
  EXPECT_FALSE(a.has_extra_sinks());
  a.start_delivery();
  a.drain_and_stop(std::chrono::steady_clock::now() + std::chrono::minutes(1));
}

TEST_F(PipelineAssemblyTest, ASinkTypeNoFactoryBuildsStopsTheStartNamingTheSink) {
  try {
    PipelineAssembly a(cfg, io, metrics, sinks, {}, nullptr, hooks());  // nothing registered
    FAIL();
  } catch (const StartupError& e) {
    EXPECT_THAT(e.what(), HasSubstr("sink events (test.yaml:9): unsupported type 'file'"));
  }
}

TEST_F(PipelineAssemblyTest, AVaultThatCannotOpenStopsTheStartBeforeTheOutbox) {
  cfg.vault.create_if_missing = false;
  uplink::register_builtin_sinks(sinks);
  try {
    PipelineAssembly a(cfg, io, metrics, sinks, {}, nullptr, hooks());
    FAIL();
  } catch (const StartupError& e) {
    EXPECT_THAT(e.what(), HasSubstr("key vault: "));
  }
  EXPECT_FALSE(fs::exists(dir / "outbox.db"));
}

TEST_F(PipelineAssemblyTest, WithoutSinksThereIsNoOutbox) {
  cfg.sinks.clear();
  PipelineAssembly a(cfg, io, metrics, sinks, {}, nullptr, hooks());
  EXPECT_EQ(a.outbox(), nullptr);
  EXPECT_TRUE(a.sink_stats().empty());
}

}  // namespace
}  // namespace oemlink::host
