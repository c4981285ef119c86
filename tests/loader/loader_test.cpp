#include "core/loader/driver_library.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace oemlink::loader {
namespace {

namespace fs = std::filesystem;

const fs::path kTestPlugins = OEMLINK_TEST_PLUGIN_DIR;
const fs::path kPlugins = OEMLINK_PLUGIN_DIR;

std::string load_error(const fs::path& p) {
  try {
    load_driver_library(p);
  } catch (const DriverLoadError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(DriverLibrary, LoadsTheMockDriverOnceAndDescribesIt) {
  auto a = load_driver_library(kPlugins / "oemlink-driver-mock.so");
  auto b = load_driver_library(kPlugins / "oemlink-driver-mock.so");
  ASSERT_NE(a.descriptor, nullptr);
  EXPECT_EQ(a.descriptor, b.descriptor);
  EXPECT_STREQ(a.descriptor->name, "mock");
  EXPECT_EQ(a.descriptor->abi_major, static_cast<uint32_t>(OEMLINK_ABI_MAJOR));
  EXPECT_EQ(describe_capabilities(a.descriptor->capabilities), "poll, stream, webhook");
}

TEST(DriverLibrary, MissingFileIsNamed) {
  std::string e = load_error(kTestPlugins / "oemlink-driver-absent.so");
  EXPECT_HAS(e, "oemlink-driver-absent.so");
  EXPECT_HAS(e, "file not found");
}

TEST(DriverLibrary, NotASharedLibrary) {
  std::string e = load_error(kTestPlugins / "not-a-library.so");
  EXPECT_HAS(e, "not-a-library.so");
  EXPECT_HAS(e, "not a shared library");
}

TEST(DriverLibrary, MissingEntrySymbol) {
  std::string e = load_error(kTestPlugins / "oemlink-driver-nosymbol.so");
  EXPECT_HAS(e, "oemlink-driver-nosymbol.so");
  EXPECT_HAS(e, "entry symbol 'oemlink_driver_entry' not found");
}

TEST(DriverLibrary, EntryReturningNull) {
  std::string e = load_error(kTestPlugins / "oemlink-driver-nullentry.so");
  EXPECT_HAS(e, "returned NULL");
}

TEST(DriverLibrary, AbiMajorMismatchShowsBothVersions) {
  std::string e = load_error(kTestPlugins / "oemlink-driver-badabi.so");
  EXPECT_HAS(e, "oemlink-driver-badabi.so");
  EXPECT_HAS(e, "driver built for ABI " + std::to_string(OEMLINK_ABI_MAJOR + 1) + ".");
  EXPECT_HAS(e, "this host speaks ABI " + std::to_string(OEMLINK_ABI_MAJOR) + "." +
                    std::to_string(OEMLINK_ABI_MINOR));
}

TEST(DriverLibrary, DuplicateDriverNameNamesBothFiles) {
  load_driver_library(kPlugins / "oemlink-driver-mock.so");
  std::string e = load_error(kTestPlugins / "oemlink-driver-dup.so");
  EXPECT_HAS(e, "duplicate driver name 'mock'");
  EXPECT_HAS(e, "oemlink-driver-mock.so");
}

TEST(DriverLibrary, BareNamesAreSearchedAndFailuresListWhere) {
  std::vector<fs::path> dirs = {"/nonexistent-oemlink", kPlugins};
  EXPECT_EQ(resolve_driver_library("mock", {}, dirs), kPlugins / "oemlink-driver-mock.so");
  try {
    resolve_driver_library("tesla-x", {}, dirs);
    FAIL();
  } catch (const DriverLoadError& e) {
    EXPECT_HAS(e.what(), "oemlink-driver-tesla-x.so not found");
    EXPECT_HAS(e.what(), "/nonexistent-oemlink/oemlink-driver-tesla-x.so");
    EXPECT_HAS(e.what(), "OEMLINK_PLUGIN_PATH");
  }
  // A value with a slash is a path and is not searched.
  EXPECT_EQ(resolve_driver_library("./x/y.so", "/abs/x/y.so", dirs), fs::path("/abs/x/y.so"));
}

TEST(DriverLibrary, PluginPathEnvironmentComesFirst) {
  setenv("OEMLINK_PLUGIN_PATH", "/a:/b", 1);
  auto dirs = default_plugin_dirs();
  unsetenv("OEMLINK_PLUGIN_PATH");
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], fs::path("/a"));
  EXPECT_EQ(dirs[1], fs::path("/b"));
}

}  // namespace
}  // namespace oemlink::loader
