// SinkRegistry: a sink is built by its type through the factory main registered; an unknown type
// is refused naming the types this build knows.
#include "core/uplink/sink_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace oemlink::uplink {
namespace {

using ::testing::HasSubstr;

TEST(SinkRegistry, BuiltinsAreRegisteredExplicitly) {
  SinkRegistry empty;
  EXPECT_TRUE(empty.types().empty());
  SinkRegistry r;
  register_builtin_sinks(r);
  EXPECT_EQ(r.types(), (std::vector<std::string>{"dimo_https", "file", "mqtt"}));
}

TEST(SinkRegistry, BuildsAFileSinkByType) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("oemlink-sink-registry-" + std::to_string(getpid()));
  fs::remove_all(dir);
  SinkRegistry r;
  register_builtin_sinks(r);
  boost::asio::io_context io;
  MetricsRegistry metrics;
  config::HttpConfig http;
  SinkContext ctx{io, metrics, http};
  config::SinkConfig s;
  s.name = "events";
  s.type = "file";
  s.file.path = dir / "events.jsonl";
  auto d = r.make(s, ctx);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name(), "events");
  EXPECT_TRUE(fs::exists(dir / "events.jsonl"));
  d->shutdown();
  fs::remove_all(dir);
}

TEST(SinkRegistry, AnUnknownTypeNamesTheKnownOnes) {
  SinkRegistry r;
  r.add("file", [](const config::SinkConfig&, SinkContext&) -> std::unique_ptr<EventDeliverer> {
    return nullptr;
  });
  boost::asio::io_context io;
  MetricsRegistry metrics;
  config::HttpConfig http;
  SinkContext ctx{io, metrics, http};
  config::SinkConfig s;
  s.name = "kafka";
  s.type = "kafka";
  try {
    r.make(s, ctx);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unsupported type 'kafka' (this build knows: file)"));
  }
}

}  // namespace
}  // namespace oemlink::uplink
