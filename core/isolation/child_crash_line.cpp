#include "core/isolation/child_crash_line.hpp"

#include <unistd.h>
#include <csignal>
#include <cstring>

namespace oemlink::isolation {
namespace {

thread_local const char* t_call = nullptr;
thread_local const std::string* t_connection = nullptr;
const char* g_driver = "";
const char* g_library = "";

void put(char* buf, size_t cap, size_t& at, const char* s, size_t n) {
  for (size_t i = 0; i < n && at < cap; ++i) buf[at++] = s[i];
}
void put(char* buf, size_t cap, size_t& at, const char* s) {
  put(buf, cap, at, s, std::strlen(s));
}

void on_fatal(int sig) {
  char line[1024];
  size_t at = 0;
  put(line, sizeof line, at, "oemlink-driver-process: fatal signal ");
  char num[8];
  int n = 0;
  for (int v = sig; v > 0 && n < 7; v /= 10) num[n++] = static_cast<char>('0' + v % 10);
  while (n > 0) put(line, sizeof line, at, &num[--n], 1);
  put(line, sizeof line, at, " in driver ");
  put(line, sizeof line, at, g_driver);
  put(line, sizeof line, at, " (library ");
  put(line, sizeof line, at, g_library);
  put(line, sizeof line, at, ")");
  if (t_call) {
    put(line, sizeof line, at, ", call ");
    put(line, sizeof line, at, t_call);
  } else {
    put(line, sizeof line, at, ", on a thread of the driver's own");
  }
  if (t_connection) {
    put(line, sizeof line, at, ", connection ");
    put(line, sizeof line, at, t_connection->data(), t_connection->size());
  }
  put(line, sizeof line, at, "\n");
  (void)!::write(2, line, at);
  ::raise(sig);  // SA_RESETHAND put the default back: the process ends by this signal
}

}  // namespace

CrashFrame::CrashFrame(const char* call, const std::string* connection)
    : outer_call_(t_call), outer_connection_(t_connection) {
  t_call = call;
  t_connection = connection;
}

CrashFrame::~CrashFrame() {
  t_call = outer_call_;
  t_connection = outer_connection_;
}

void install_child_crash_reporter(const char* driver, const char* library) {
  g_driver = driver;
  g_library = library;
  static char alt[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = sizeof alt;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace oemlink::isolation
