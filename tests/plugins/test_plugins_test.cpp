// The broken loader-test plugins are broken in exactly the advertised way (and no other), so
// the loader's tests fail for the right reason.
#include <oemlink/testkit/driver_harness.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <string>

namespace oemlink::test {
namespace {

using namespace ::oemlink::testkit;

std::string test_plugin(const std::string& file) {
  return std::string(OEMLINK_BINARY_DIR) + "/test-plugins/" + file;
}

void* load_test_plugin(const std::string& name) {
  std::string error;
  void* lib = load_library(test_plugin("oemlink-driver-" + name + ".so"), &error);
  EXPECT_NE(lib, nullptr) << error;
  return lib;
}

TEST(TestPlugins, NoSymbolHasNoEntryPoint) {
  void* lib = load_test_plugin("nosymbol");
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(dlsym(lib, OEMLINK_DRIVER_ENTRY_SYMBOL), nullptr);
}

TEST(TestPlugins, BadAbiIsOneMajorAhead) {
  void* lib = load_test_plugin("badabi");
  ASSERT_NE(lib, nullptr);
  const oemlink_driver* d = entry_descriptor(lib);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->abi_major, OEMLINK_ABI_MAJOR + 1u);
  EXPECT_STREQ(d->name, "badabi");
}

TEST(TestPlugins, InitFailFailsCreateWithItsMessage) {
  void* lib = load_test_plugin("initfail");
  ASSERT_NE(lib, nullptr);
  const oemlink_driver* d = entry_descriptor(lib);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->abi_major, static_cast<uint32_t>(OEMLINK_ABI_MAJOR));
  DriverUnderTest t(d, "{}");
  EXPECT_FALSE(t.created());
  EXPECT_EQ(t.create_error(), "initfail: cannot reach token endpoint");
}

TEST(TestPlugins, DupIsAValidDriverNamedMock) {
  void* lib = load_test_plugin("dup");
  ASSERT_NE(lib, nullptr);
  const oemlink_driver* d = entry_descriptor(lib);
  ASSERT_NE(d, nullptr);
  EXPECT_STREQ(d->name, "mock");
  EXPECT_EQ(d->setting_count, 0u);
  DriverUnderTest t(d, "{}");
  ASSERT_TRUE(t.created());
  EXPECT_EQ(t.poll(t.open("c")).status, OEMLINK_OK);
}

TEST(TestPlugins, NullEntryReturnsNull) {
  void* lib = load_test_plugin("nullentry");
  ASSERT_NE(lib, nullptr);
  EXPECT_NE(dlsym(lib, OEMLINK_DRIVER_ENTRY_SYMBOL), nullptr);
  EXPECT_EQ(entry_descriptor(lib), nullptr);
}

TEST(TestPlugins, NotALibraryDoesNotLoad) {
  std::string error;
  EXPECT_EQ(load_library(test_plugin("not-a-library.so"), &error), nullptr);
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace oemlink::test
