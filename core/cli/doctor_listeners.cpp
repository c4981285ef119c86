// Each configured listener's address:port can be bound (with SO_REUSEADDR, as the listeners bind).
// While the daemon runs its listeners hold those ports, so the check is skipped, not failed.
#include "core/cli/doctor.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace oemlink::cli {

namespace {

// "" when bound (and released at once), else why not.
std::string try_bind(const std::string& address, uint32_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(address.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve the address: ") + gai_strerror(rc);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return std::strerror(errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  std::string why;
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1) != 0)
    why = std::strerror(errno);
  ::close(fd);
  return why;
}

void check_listener(const DoctorContext& ctx, const std::string& name, const std::string& address,
                    uint32_t port, DoctorReport& report) {
  const std::string check = "listener " + name;
  const std::string where = address + ":" + std::to_string(port);
  if (ctx.daemon_pid > 0) {
    report.add(
        check, CheckResult::skip,
        where + " in use by the running daemon (pid " + std::to_string(ctx.daemon_pid) + ")");
    return;
  }
  if (std::string why = try_bind(address, port); !why.empty())
    report.add(check, CheckResult::fail, "cannot bind " + where + ": " + why);
  else
    report.add(check, CheckResult::pass, where + " can be bound");
}

}  // namespace

void doctor_listeners(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    report.add("listeners", CheckResult::skip, kNoConfig);
    return;
  }
  const config::ListenersConfig& l = ctx.cfg->listeners;
  if (!l.inbound && !l.admin && !l.operations) {
    report.add("listeners", CheckResult::skip, "none configured");
    return;
  }
  if (l.inbound) check_listener(ctx, "inbound", l.inbound->address, l.inbound->port, report);
  if (l.admin) check_listener(ctx, "admin", l.admin->address, l.admin->port, report);
  if (l.operations)
    check_listener(ctx, "operations", l.operations->address, l.operations->port, report);
}

}  // namespace oemlink::cli
