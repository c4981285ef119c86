// ServiceNotifier: tells systemd (Type=notify, sd_notify(3) through libsystemd) where the daemon
// is in its life. A no-op without NOTIFY_SOCKET (not started by systemd, or by a unit that is
// not Type=notify), so every caller may call it unconditionally.
//
//   ready()      READY=1      `oemlink run`, once the outbox, the drivers, the connections and
//                             every listener are up (after Runtime::start); also ends a reload
//   stopping()   STOPPING=1   shutdown has begun (a signal, --duration, --max-polls)
//   reloading()  RELOADING=1  a reload of the config begins; call ready() when it is done,
//                             whether the new config was taken or refused (the old one runs)
//
// NOTIFY_SOCKET is left in the environment, so driver libraries and child processes could
// see it; they are not told to notify and nothing else in oemlink reads it.
//
// Threading: [any-thread]; each call is one datagram.
#pragma once

#include <string_view>

namespace oemlink {

class ServiceNotifier {
 public:
  // True when NOTIFY_SOCKET is set (systemd will hear what this says).
  static bool enabled();
  // `status`, when given, goes along as STATUS=<status> (shown by `systemctl status`).
  static void ready(std::string_view status = {});
  static void stopping();
  static void reloading();
};

}  // namespace oemlink
