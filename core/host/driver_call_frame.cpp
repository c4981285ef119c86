#include "core/host/driver_call_frame.hpp"

#include "core/host/driver_set.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace oemlink::host {
namespace {

thread_local const DriverCallFrame* tl_frame = nullptr;

// Set once before any driver exists; read by the handler only.
char g_crash_log[4096] = {};

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};

// The thread reporting a crash (its tid), 0 while none is. Lock-free, so usable in the handler.
std::atomic<long> g_reporter{0};
static_assert(std::atomic<long>::is_always_lock_free);
// How long another dying thread waits for the reporter to end the process: far longer than
// writing two lines, short enough that a reporter stuck on a hung disk cannot keep a dead
// process around.
constexpr int kWaitForReporterMs = 10'000;

// A bounded writer into a caller's buffer: no allocation, no locale, no errno.
struct Line {
  char* buf;
  size_t cap;
  size_t n = 0;
  void put(const char* s, size_t len) {
    for (size_t i = 0; i < len && n + 1 < cap; ++i) {
      // Names come from config and drivers: keep the record one line of printable ASCII.
      const char c = s[i];
      buf[n++] = (c < 0x20 || c == 0x7f || c == ' ') ? '_' : c;
    }
  }
  void text(const char* s) {  // literals of our own: spaces kept
    for (; *s && n + 1 < cap; ++s) buf[n++] = *s;
  }
  void number(long long v) {
    char digits[24];
    size_t k = 0;
    unsigned long long u = v < 0 ? 0ULL - static_cast<unsigned long long>(v) : v;
    if (v < 0) text("-");
    do {
      digits[k++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u && k < sizeof digits);
    while (k && n + 1 < cap) buf[n++] = digits[--k];
  }
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGILL:
      return "SIGILL";
    case SIGFPE:
      return "SIGFPE";
    case SIGABRT:
      return "SIGABRT";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal";
  }
}

// The signal's default action, once this handler returns: `sig` is blocked while the handler
// runs, so raise() leaves it pending and it is delivered, now with SIG_DFL, on the way out. A
// synchronous fault would also recur on the faulting instruction; a signal sent by kill(2) would
// not, hence the raise.
void die_by(int sig) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
}

void on_fatal_signal(int sig, siginfo_t*, void*) {
  const int saved_errno = errno;
  const long self = ::syscall(SYS_gettid);
  long reporter = 0;
  if (!g_reporter.compare_exchange_strong(reporter, self)) {
    // Another thread is reporting: it ends the process when done, this thread with it. Without
    // this wait our default action could end the process in the middle of its report. (The
    // reporter itself faulting again never gets here: every fatal signal is blocked while it
    // reports, and the kernel kills a thread that faults with the signal blocked.)
    if (reporter != self) {
      const timespec tick{0, 10'000'000};
      for (int waited = 0; waited < kWaitForReporterMs; waited += 10) ::nanosleep(&tick, nullptr);
    }
    errno = saved_errno;
    die_by(sig);
    return;
  }
  const DriverCallFrame* f = tl_frame;
  char line[1024];
  size_t n = format_crash_line(line, sizeof line, sig, f);
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, line, n);
  if (f && g_crash_log[0]) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const long long ms = static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
    n = format_crash_record(line, sizeof line, ms, *f);
    int fd = ::open(g_crash_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      w = ::write(fd, line, n);
      ::fsync(fd);
      ::close(fd);
    }
  }
  errno = saved_errno;
  die_by(sig);
}

}  // namespace

DriverCallFrame::DriverCallFrame(const DriverInstance& d, const char* call,
                                 std::string_view connection)
    : driver(d.name.data()),
      driver_len(d.name.size()),
      library(d.path.c_str()),
      call(call),
      connection(connection.data()),
      connection_len(connection.size()),
      outer_(tl_frame) {
  tl_frame = this;
}

DriverCallFrame::~DriverCallFrame() {
  tl_frame = outer_;
}

const DriverCallFrame* DriverCallFrame::current() {
  return tl_frame;
}

size_t format_crash_line(char* buf, size_t cap, int sig, const DriverCallFrame* f) {
  if (cap == 0) return 0;
  Line l{buf, cap};
  l.text("oemlink: fatal ");
  l.text(signal_name(sig));
  l.text(" (");
  l.number(sig);
  l.text(")");
  if (f) {
    l.text(" in driver ");
    l.put(f->driver, f->driver_len);
    l.text(" (library ");
    l.put(f->library, std::strlen(f->library));
    l.text("), call ");
    l.text(f->call);
    if (f->connection_len) {
      l.text(", connection ");
      l.put(f->connection, f->connection_len);
    }
    l.text("; the next start counts it towards quarantining this driver");
  } else {
    l.text(" outside any driver call");
  }
  l.text("\n");
  return l.n;
}

size_t format_crash_record(char* buf, size_t cap, long long unix_ms, const DriverCallFrame& f) {
  if (cap == 0) return 0;
  Line l{buf, cap};
  // A leading newline: a record torn before it (a full disk) cannot swallow this one.
  l.text("\ncrash ");
  l.number(unix_ms);
  l.text(" ");
  l.put(f.driver, f.driver_len);
  l.text(" ");
  l.text(f.call);
  if (l.n + 1 >= cap && cap > 1) l.n = cap - 2;  // the newline always fits
  l.text("\n");
  return l.n;
}

void install_crash_reporter(const std::filesystem::path& crash_log) {
  const std::string p = crash_log.string();
  if (p.size() < sizeof g_crash_log) std::memcpy(g_crash_log, p.c_str(), p.size() + 1);
  // The loop thread runs most driver calls; its own stack may be what overflowed.
  static char* alt = new char[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = 64 * 1024;
  sigaltstack(&ss, nullptr);
  // No SA_RESETHAND: a second thread dying while the first reports must find the handler still
  // there (and wait), not the default action that would end the process unreported. Every fatal
  // signal is blocked while the handler runs, so a fault inside it ends the process at once.
  struct sigaction sa {};
  sa.sa_sigaction = &on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : kFatalSignals) sigaddset(&sa.sa_mask, sig);
  for (int sig : kFatalSignals) sigaction(sig, &sa, nullptr);
}

}  // namespace oemlink::host
