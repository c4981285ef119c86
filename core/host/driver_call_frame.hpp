// DriverCallFrame: which driver call this thread is in, so that a fatal signal inside a driver
// names it. The host sets one around every call into a driver (create, open, poll, stream,
// webhook, close, destroy, link calls) and around every host callback it delivers to a driver
// (HTTP answers, timers, MQTT messages): on a crash, one line naming the driver, its library,
// the call and the connection goes to stderr, and one record to the crash log that the next
// start reads to quarantine a driver that keeps crashing the host (driver_quarantine.hpp).
//
// Everything the signal handler touches is plain memory set before the call: the frame is a
// thread-local pointer to a stack object whose strings outlive it (the instance's name and
// path, a string literal, the connection's id). The handler formats with its own integer and
// string copying and uses only write(2), open(2), fsync(2), close(2), clock_gettime(2),
// nanosleep(2), gettid(2), sigaction(2) and raise(3), all async-signal-safe.
//
// Two threads dying at once: the first into the handler reports; any other waits (bounded) for it
// to end the process, so the report is never cut short by a second thread's default action.
//
// Threading: frames are per thread and nest (an HTTP answer delivered inside a poll names the
// inner call). install_crash_reporter once, on the loop thread, before any driver is created.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace oemlink::host {

struct DriverInstance;

class DriverCallFrame {
 public:
  // `call` must be a string literal; `connection` must outlive the frame.
  DriverCallFrame(const DriverInstance& d, const char* call, std::string_view connection = {});
  ~DriverCallFrame();
  DriverCallFrame(const DriverCallFrame&) = delete;
  DriverCallFrame& operator=(const DriverCallFrame&) = delete;

  // The innermost frame of this thread; null outside every driver call.
  static const DriverCallFrame* current();

  const char* driver;
  size_t driver_len;
  const char* library;  // NUL-terminated
  const char* call;
  const char* connection;
  size_t connection_len;

 private:
  const DriverCallFrame* outer_;
};

// Runs `f` (a call into `d`) inside a frame: `call_driver(d, "poll", id, [&] { return ...; })`.
template <class F>
decltype(auto) call_driver(const DriverInstance& d, const char* call, std::string_view connection,
                           F&& f) {
  DriverCallFrame frame(d, call, connection);
  return f();
}

// Installs the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGSYS (with an
// alternate stack for this thread, so a driver's stack overflow on the loop is reported too).
// Crash records are appended to `crash_log` (empty: stderr only). After reporting, the signal's
// default action runs: the process dies as it would have (exit by signal, core dump if enabled).
void install_crash_reporter(const std::filesystem::path& crash_log);

// Formats the line the handler writes for `frame` (null: outside any driver call) and signal
// `sig` into `buf`; returns its length. Async-signal-safe; exposed for tests.
size_t format_crash_line(char* buf, size_t cap, int sig, const DriverCallFrame* frame);
// The record appended to the crash log: "crash <unix_ms> <driver> <call>\n".
size_t format_crash_record(char* buf, size_t cap, long long unix_ms, const DriverCallFrame& f);

}  // namespace oemlink::host
