// oemlink SDK test kit — drives a driver through the raw C ABI, the way the host does: load
// the library (or take a descriptor built in the test), create an instance against a FakeHost,
// open connections, poll, stream, close, destroy. Failures are returned, never asserted, so
// any test framework (or none) can check them.
#ifndef OEMLINK_TESTKIT_DRIVER_HARNESS_HPP
#define OEMLINK_TESTKIT_DRIVER_HARNESS_HPP

#include <oemlink/driver.h>
#include <oemlink/testkit/fake_host.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace oemlink::testkit {

// dlopen()s `path` (RTLD_NOW | RTLD_LOCAL, never closed, as the host does) and returns the
// handle, or nullptr with `error` set.
void* load_library(const std::string& path, std::string* error);
// Calls the library's entry point with this SDK's ABI version; nullptr when the symbol is
// missing or the entry returned NULL.
const oemlink_driver* entry_descriptor(void* library);
// Both: the descriptor of the driver library at `path`, or nullptr with `error` set.
const oemlink_driver* load_driver(const std::string& path, std::string* error);

// One completion (a poll's `done`, a stream's `ended`) as the host sees it.
struct Completion {
  // What poll()/stream_start() returned: anything but OK means the call never started and
  // the driver must not complete it.
  oemlink_status started = OEMLINK_OK;
  int calls = 0;  // more than 1 is a driver bug
  oemlink_status status = -1;
  std::string message;

  bool done() const { return calls > 0; }
  static void OEMLINK_CALL record(void* self, oemlink_status status, oemlink_str message);
};

// What open() hands the driver about a car.
struct ConnSpec {
  std::string id;
  std::string vin;
  std::string identifiers_json = "{}";
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
};

// An instance of a driver with its own fake host, plus its connections.
class DriverUnderTest {
 public:
  // Calls create() with `settings_json` as the host would pass it (a JSON object with the
  // table's defaults filled in: write them out, the kit does not read your table's YAML).
  DriverUnderTest(const oemlink_driver* driver, std::string settings_json);
  ~DriverUnderTest();  // closes open connections, then destroys the instance
  DriverUnderTest(const DriverUnderTest&) = delete;
  DriverUnderTest& operator=(const DriverUnderTest&) = delete;

  bool created() const { return instance_ != nullptr; }
  const std::string& create_error() const { return create_error_; }

  // A fake, unique handle; nullptr when the driver refused (see open_error()).
  oemlink_conn* open(std::string_view id);
  oemlink_conn* open(const ConnSpec& spec);
  const std::string& open_error() const { return open_error_; }
  void close(oemlink_conn* conn);
  // Starts a poll; the returned completion (stable until this object dies) fills in when the
  // driver finishes it.
  Completion& poll(oemlink_conn* conn);
  Completion& stream_start(oemlink_conn* conn);
  void stream_stop(oemlink_conn* conn);

  const oemlink_driver* descriptor() const { return driver_; }
  oemlink_instance* instance() const { return instance_; }

  FakeHost host;  // declared first: outlives the instance, as the real host's table does

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
  std::string open_error_;
  std::deque<OpenConn> conns_;
  std::deque<Completion> completions_;  // stable addresses for in-flight callbacks
};

}  // namespace oemlink::testkit

#endif  // OEMLINK_TESTKIT_DRIVER_HARNESS_HPP
