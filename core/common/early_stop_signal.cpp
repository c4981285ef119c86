#include "core/common/early_stop_signal.hpp"

#include <csignal>

namespace oemlink {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_hangup = 0;

extern "C" void record_signal(int sig) {
  g_signal = sig;
}
extern "C" void record_hangup(int) {
  g_hangup = 1;
}

}  // namespace

void record_early_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = &record_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = &record_hangup;
  sigaction(SIGHUP, &sa, nullptr);
}

int early_stop_signal() {
  return g_signal;
}

bool early_reload_requested() {
  return g_hangup != 0;
}

}  // namespace oemlink
