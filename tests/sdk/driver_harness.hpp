// Loads a driver library the way the host does and drives it through the raw C ABI.
#ifndef OEMLINK_TESTS_SDK_DRIVER_HARNESS_HPP
#define OEMLINK_TESTS_SDK_DRIVER_HARNESS_HPP

#include "tests/sdk/fake_host.hpp"

#include <oemlink/driver.h>

#include <deque>
#include <string>
#include <string_view>

namespace oemlink::test {

// dlopen()s `path` (RTLD_NOW | RTLD_LOCAL, never closed, as the host does) and returns the
// handle, or nullptr with `error` set.
void* load_library(const std::string& path, std::string* error);
// Calls the library's entry point; nullptr when the symbol is missing.
const oemlink_driver* entry_descriptor(void* library);

std::string plugin_path(std::string_view driver_name);  // in OEMLINK_PLUGIN_DIR

// One completion as the host sees it.
struct Completion {
  int calls = 0;
  oemlink_status status = -1;
  std::string message;

  static void OEMLINK_CALL record(void* self, oemlink_status status, oemlink_str message);
};

// An instance of a driver with one fake host, plus helpers for its connections.
class DriverUnderTest {
 public:
  DriverUnderTest(const oemlink_driver* driver, std::string settings_json);
  ~DriverUnderTest();  // closes open connections, then destroys the instance

  bool created() const { return instance_ != nullptr; }
  const std::string& create_error() const { return create_error_; }

  oemlink_conn* open(std::string_view id);  // a fake handle; nullptr on failure
  void close(oemlink_conn* conn);
  // Starts a poll; the returned completion fills in when the driver finishes it.
  Completion& poll(oemlink_conn* conn);
  Completion& stream_start(oemlink_conn* conn);
  void stream_stop(oemlink_conn* conn);

  FakeHost host;

 private:
  struct OpenConn {
    oemlink_conn* handle;
    void* ctx;
    bool open;
  };
  OpenConn& find(oemlink_conn* conn);

  const oemlink_driver* driver_;
  oemlink_instance* instance_ = nullptr;
  std::string create_error_;
  std::deque<OpenConn> conns_;
  std::deque<Completion> completions_;  // stable addresses for in-flight callbacks
};

}  // namespace oemlink::test

#endif  // OEMLINK_TESTS_SDK_DRIVER_HARNESS_HPP
