// CrashFrame: which driver call the driver process's thread is in, so that a fatal signal in a
// driver's process names the driver, its library, the call and the connection on stderr, as the
// host does for drivers in its own process (core/host/driver_call_frame.hpp). The host then sees
// the process end and restarts it; the line tells the operator why.
//
// The handler uses only write(2) and raise(3) on memory set before the call.
#pragma once

#include <string>

namespace oemlink::isolation {

class CrashFrame {
 public:
  // `call` must be a string literal; `connection` (may be null) must outlive the frame.
  CrashFrame(const char* call, const std::string* connection);
  ~CrashFrame();
  CrashFrame(const CrashFrame&) = delete;
  CrashFrame& operator=(const CrashFrame&) = delete;

 private:
  const char* outer_call_;
  const std::string* outer_connection_;
};

// Once, on the driver thread, before the library's code runs. `driver` and `library` must live
// for the rest of the process.
void install_child_crash_reporter(const char* driver, const char* library);

}  // namespace oemlink::isolation
