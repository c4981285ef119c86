#include "core/common/service_notifier.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace oemlink {
namespace {

void notify(const std::string& state) {
  if (!ServiceNotifier::enabled()) return;
  const int rc = sd_notify(/*unset_environment=*/0, state.c_str());
  if (rc > 0) return;
  // systemd waiting for READY=1 that never comes kills the service after TimeoutStartSec: say
  // why, once (a broken socket fails every call the same way).
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true))
    spdlog::warn(
        "sd_notify to NOTIFY_SOCKET failed ({}): systemd does not hear this daemon's state",
        rc < 0 ? std::strerror(-rc) : "no socket");
}

std::string first_line(std::string_view s) {
  return std::string(s.substr(0, s.find('\n')));
}

}  // namespace

bool ServiceNotifier::enabled() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void ServiceNotifier::ready(std::string_view status) {
  std::string state = "READY=1";
  if (!status.empty()) state += "\nSTATUS=" + first_line(status);
  notify(state);
}

void ServiceNotifier::stopping() {
  notify("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::reloading() {
  // systemd 253+ (Type=notify-reload) wants the monotonic time of the reload's start with it.
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

}  // namespace oemlink
