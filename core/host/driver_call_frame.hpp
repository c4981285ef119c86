// DriverCallFrame: which driver call this thread is in, so that a fatal signal inside a driver
// names it. The host sets one around every call into a driver (create, open, poll, stream,
// webhook, close, destroy, link calls) and around every host callback it delivers to a driver
// (HTTP answers, timers, MQTT messages): on a crash, one line naming the driver, its library,
// the call and the connection goes to stderr, and one record to the crash log that the next
// start reads to quarantine a driver that keeps crashing the host (driver_quarantine.hpp).
//
// A driver's own threads run outside every frame. For them the host keeps, per loaded driver,
// where its library's code is mapped (register_driver_code, at load): a crash whose faulting
// instruction lies in a driver's code is that driver's, call "driver thread", and counts towards
// its quarantine like any other. (Only the faulting instruction is looked at: a driver thread
// that dies inside libc — abort() after an uncaught exception, say — is still reported as outside
// any driver call.)
//
// Everything the signal handler touches is plain memory set before the call: the frame is a
// thread-local pointer to a stack object whose strings outlive it (the instance's name and
// path, a string literal, the connection's id), and the code table is a fixed array filled
// before a count is published. The handler formats with its own integer and string copying and
// uses only write(2), open(2), fsync(2), close(2), clock_gettime(2), nanosleep(2), gettid(2),
// sigaction(2) and raise(3), all async-signal-safe.
//
// Two threads dying at once: the first into the handler reports; any other waits (bounded) for it
// to end the process, so the report is never cut short by a second thread's default action.
//
// Threading: frames are per thread and nest (an HTTP answer delivered inside a poll names the
// inner call). install_crash_reporter once, on the loop thread, before any driver is created;
// register_driver_code on the loop thread. Every thread gets an alternate signal stack the first
// time it enters a frame once the reporter is installed, so a stack overflow in a driver call is
// reported on whichever host thread made it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace oemlink::host {

struct DriverInstance;

// What a crash report names: the driver, its library, the call and the connection.
struct CrashSite {
  const char* driver = "";
  size_t driver_len = 0;
  const char* library = "";  // NUL-terminated
  const char* call = "";     // NUL-terminated
  const char* connection = "";
  size_t connection_len = 0;
};

class DriverCallFrame : public CrashSite {
 public:
  // `call` must be a string literal; `connection` must outlive the frame.
  DriverCallFrame(const DriverInstance& d, const char* call, std::string_view connection = {});
  ~DriverCallFrame();
  DriverCallFrame(const DriverCallFrame&) = delete;
  DriverCallFrame& operator=(const DriverCallFrame&) = delete;

  // The innermost frame of this thread; null outside every driver call.
  static const DriverCallFrame* current();

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

// [loop] Driver `driver` runs the code of `library`, the loaded object that holds `code` (any
// function of it; the host passes its descriptor's create): the executable segments of that
// object are recorded, so a crash on a thread of the driver's own is named. Once per name and
// library (a reload's new instance of the same driver adds nothing). False when no loaded object
// holds `code` or the table is full (kMaxDriverCode): that driver's own threads then crash
// unnamed, as before.
inline constexpr size_t kMaxDriverCode = 128;
bool register_driver_code(std::string_view driver, const std::filesystem::path& library,
                          const void* code);

// Async-signal-safe: the `n`-th registered driver (in order of registration) whose code holds
// instruction address `ip`, as a crash site with call "driver thread"; false when there are no
// more. Several driver entries may load one library: each is found (n = 0, 1, ...).
bool driver_code_at(uintptr_t ip, size_t n, CrashSite& out);

// Formats the line the handler writes for `site` (null: outside any driver call) and signal
// `sig` into `buf`; returns its length. Async-signal-safe; exposed for tests.
size_t format_crash_line(char* buf, size_t cap, int sig, const CrashSite* site);
// The record appended to the crash log: "crash <unix_ms> <driver> <call>\n".
size_t format_crash_record(char* buf, size_t cap, long long unix_ms, const CrashSite& site);

}  // namespace oemlink::host
