#include "core/host/driver_call_frame.hpp"

#include "core/host/driver_set.hpp"

#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>

namespace oemlink::host {
namespace {

thread_local const DriverCallFrame* tl_frame = nullptr;

// Set once before any driver exists; read by the handler only.
char g_crash_log[4096] = {};
std::atomic<bool> g_installed{false};

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
constexpr size_t kAltStackSize = 64 * 1024;

// The thread reporting a crash (its tid), 0 while none is. Lock-free, so usable in the handler.
std::atomic<long> g_reporter{0};
static_assert(std::atomic<long>::is_always_lock_free);
// How long another dying thread waits for the reporter to end the process: far longer than
// writing two lines, short enough that a reporter stuck on a hung disk cannot keep a dead
// process around.
constexpr int kWaitForReporterMs = 10'000;

// Where each driver's code is mapped: filled on the loop at load, read by the handler. An entry
// is complete before the count that covers it is published, and never changes afterwards.
struct CodeRange {
  uintptr_t begin = 0, end = 0;
};
struct DriverCode {
  char driver[128];
  size_t driver_len;
  char library[1024];
  CodeRange ranges[8];
  size_t range_count;
};
DriverCode g_code[kMaxDriverCode];
std::atomic<size_t> g_code_count{0};
static_assert(std::atomic<size_t>::is_always_lock_free);
std::mutex g_code_mu;  // registrations only

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

// The instruction that faulted, from the context the kernel saved; 0 where we cannot tell.
uintptr_t faulting_ip(const void* uctx) {
  if (!uctx) return 0;
  [[maybe_unused]] const auto* uc = static_cast<const ucontext_t*>(uctx);
#if defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#else
  return 0;
#endif
}

// One line to stderr and, for a driver, one record to the crash log.
void write_report(int sig, const CrashSite* site) {
  char line[1024];
  size_t n = format_crash_line(line, sizeof line, sig, site);
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, line, n);
  if (!site || !g_crash_log[0]) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const long long ms = static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  n = format_crash_record(line, sizeof line, ms, *site);
  int fd = ::open(g_crash_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    w = ::write(fd, line, n);
    ::fsync(fd);
    ::close(fd);
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

void on_fatal_signal(int sig, siginfo_t*, void* uctx) {
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
  if (const DriverCallFrame* f = tl_frame) {
    write_report(sig, f);
  } else {
    // Outside every host call into a driver: a thread of a driver's own, if the faulting
    // instruction is in a driver's code. One library may serve several driver entries: each is
    // named and counted (any of them may have been the one running).
    const uintptr_t ip = faulting_ip(uctx);
    CrashSite site;
    size_t found = 0;
    while (ip && driver_code_at(ip, found, site)) {
      write_report(sig, &site);
      ++found;
    }
    if (!found) write_report(sig, nullptr);
  }
  errno = saved_errno;
  die_by(sig);
}

// Every thread that calls into a driver gets an alternate signal stack, so that a driver
// overflowing its caller's stack is reported there too (the handler cannot run on an exhausted
// stack). Freed when the thread ends.
struct ThreadAltStack {
  void* mem = nullptr;
  ~ThreadAltStack() {
    if (!mem) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    std::free(mem);
  }
};
thread_local ThreadAltStack tl_alt_stack;
thread_local bool tl_alt_stack_checked = false;

void ensure_alt_stack() {
  if (tl_alt_stack_checked || !g_installed.load(std::memory_order_relaxed)) return;
  tl_alt_stack_checked = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  void* mem = std::malloc(kAltStackSize);
  if (!mem) return;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (sigaltstack(&ss, nullptr) != 0) {
    std::free(mem);
    return;
  }
  tl_alt_stack.mem = mem;
}

void copy_text(char* dst, size_t cap, std::string_view src, size_t* len = nullptr) {
  const size_t n = std::min(src.size(), cap - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
  if (len) *len = n;
}

// dl_iterate_phdr: the loaded object holding `code`, and its executable segments.
struct ObjectSearch {
  uintptr_t code = 0;
  CodeRange ranges[8];
  size_t count = 0;
  bool found = false;
};

int find_object(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<ObjectSearch*>(data);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && s->code >= begin && s->code < begin + ph.p_memsz) holds = true;
  }
  if (!holds) return 0;
  for (int i = 0; i < info->dlpi_phnum && s->count < std::size(s->ranges); ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    s->ranges[s->count++] = {begin, begin + ph.p_memsz};
  }
  s->found = true;
  return 1;
}

}  // namespace

DriverCallFrame::DriverCallFrame(const DriverInstance& d, const char* call,
                                 std::string_view connection)
    : CrashSite{.driver = d.name.data(),
                .driver_len = d.name.size(),
                .library = d.path.c_str(),
                .call = call,
                .connection = connection.data(),
                .connection_len = connection.size()},
      outer_(tl_frame) {
  ensure_alt_stack();
  tl_frame = this;
}

DriverCallFrame::~DriverCallFrame() {
  tl_frame = outer_;
}

const DriverCallFrame* DriverCallFrame::current() {
  return tl_frame;
}

bool register_driver_code(std::string_view driver, const std::filesystem::path& library,
                          const void* code) {
  ObjectSearch search;
  search.code = reinterpret_cast<uintptr_t>(code);
  if (!code) return false;
  dl_iterate_phdr(&find_object, &search);
  if (!search.found || search.count == 0) return false;
  std::lock_guard lock(g_code_mu);
  const size_t n = g_code_count.load(std::memory_order_relaxed);
  DriverCode entry{};
  copy_text(entry.driver, sizeof entry.driver, driver, &entry.driver_len);
  copy_text(entry.library, sizeof entry.library, library.native());
  for (size_t i = 0; i < n; ++i) {
    const DriverCode& e = g_code[i];
    if (e.driver_len == entry.driver_len &&
        std::memcmp(e.driver, entry.driver, e.driver_len) == 0 &&
        std::strcmp(e.library, entry.library) == 0)
      return true;
  }
  if (n == kMaxDriverCode) return false;
  std::copy(std::begin(search.ranges), std::end(search.ranges), entry.ranges);
  entry.range_count = search.count;
  g_code[n] = entry;
  g_code_count.store(n + 1, std::memory_order_release);
  return true;
}

bool driver_code_at(uintptr_t ip, size_t n, CrashSite& out) {
  const size_t count = g_code_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; ++i) {
    const DriverCode& e = g_code[i];
    bool holds = false;
    for (size_t r = 0; r < e.range_count; ++r)
      holds = holds || (ip >= e.ranges[r].begin && ip < e.ranges[r].end);
    if (!holds) continue;
    if (n-- > 0) continue;
    out = CrashSite{.driver = e.driver,
                    .driver_len = e.driver_len,
                    .library = e.library,
                    .call = "driver thread",
                    .connection = "",
                    .connection_len = 0};
    return true;
  }
  return false;
}

size_t format_crash_line(char* buf, size_t cap, int sig, const CrashSite* f) {
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

size_t format_crash_record(char* buf, size_t cap, long long unix_ms, const CrashSite& f) {
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
  static char* alt = new char[kAltStackSize];
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = kAltStackSize;
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
  g_installed.store(true, std::memory_order_relaxed);
}

}  // namespace oemlink::host
