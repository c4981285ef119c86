// DriverSet: the configured driver instances. It loads each library (after the same checks
// check-config makes), creates the instance with its settings, destroys it at shutdown, and owns
// what must outlive a driver that never finished: a driver still busy at shutdown is neither
// closed nor destroyed, and its host table must stay valid for as long as the process lives.
//
// Threading: the host loop thread.
#pragma once

#include "core/common/rate_limited_log.hpp"

#include "core/config/config.hpp"
#include "core/host/driver_check.hpp"

#include <oemlink/driver.h>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::host {

class HostServices;

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One configured driver entry: the loaded library's descriptor, the driver's instance handle
// and the host table handed to it (whose host_data points back here).
// Lines per second a driver may log before the host summarises the rest.
inline constexpr uint32_t kDriverLogLinesPerSecond = 50;

struct DriverInstance {
  // Cleared when the host is gone (a busy driver may still call in): every service refuses.
  std::atomic<HostServices*> services{nullptr};
  uint32_t index = 0;
  // Its own copy of the config entry: a reload replaces the running config's list while an
  // instance it retired may still be finishing.
  config::DriverConfig config;
  const config::DriverConfig* cfg = &config;
  std::string name;  // the config entry's name
  std::filesystem::path path;
  const oemlink_driver* d = nullptr;
  oemlink_instance* inst = nullptr;
  oemlink_host table{};
  uint16_t lane = 0;     // the scheduler lane of its connections
  bool skipped = false;  // on_load_error: skip took effect, or quarantined
  // Not loaded, or let go of while running, because it kept failing the host (crashes at start,
  // hung polls while running): driver_quarantine.hpp. `quarantine_reason` says why.
  bool quarantined = false;
  std::string quarantine_reason;

  // Live reload (runtime_drivers.cpp). [loop] A retired instance is no longer in the
  // configuration: find() passes over it, and it is destroyed once idle. Draining: its
  // connections are closed and its polls done; new HTTP requests, timers and subscriptions are
  // refused so that it becomes idle.
  bool retired = false;
  std::atomic<bool> draining{false};
  // A changed driver's new instance answers its webhooks 503 (senders retry) until the old
  // instance's connections are served by it.
  bool webhooks_held = false;
  // [any-thread] Host-service callbacks the driver is still owed (HTTP answers, timers), and
  // host parts in the middle of a call sequence on it (a link flow): destroyed live only at 0.
  std::atomic<uint32_t> callbacks_pending{0};
  std::atomic<uint32_t> leases{0};
  // The driver's own log lines: a driver that logs per bad request would otherwise let any
  // sender fill the disk (seen: 34,000 lines/s from one connection); see HostServices::log.
  LogGate log_gate{kDriverLogLinesPerSecond};

  // The driver-wide stream (modes driver_stream and poll+driver_stream).
  bool stream_up = false;
  uint8_t stream_failures = 0;
  std::unique_ptr<boost::asio::steady_timer> stream_restart;
};

// Holds an instance alive across a sequence of calls (a link flow's exchange, then its vehicle
// list): a live reload destroys a retired instance only once no lease is held.
class DriverLease {
 public:
  DriverLease() = default;
  explicit DriverLease(DriverInstance& d) : d_(&d) { d.leases.fetch_add(1); }
  DriverLease(DriverLease&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  DriverLease& operator=(DriverLease&& o) noexcept {
    if (this != &o) {
      release();
      d_ = std::exchange(o.d_, nullptr);
    }
    return *this;
  }
  DriverLease(const DriverLease&) = delete;
  DriverLease& operator=(const DriverLease&) = delete;
  ~DriverLease() { release(); }
  DriverInstance* get() const { return d_; }

 private:
  void release() {
    if (d_) d_->leases.fetch_sub(1);
    d_ = nullptr;
  }
  DriverInstance* d_ = nullptr;
};

// Messages one per line, as StartupError carries several.
std::string join_lines(const std::vector<std::string>& lines);

// Fills the C host-services table for `d` (host_table.cpp).
oemlink_host make_host_table(DriverInstance& d);

class DriverSet {
 public:
  // Reports how long a driver call took, so slow drivers are named (create, close, destroy).
  using CallTimer = std::function<void(DriverInstance&, const char* call, int64_t took_ms)>;

  DriverSet(const config::Config& cfg, std::vector<std::filesystem::path> plugin_dirs);
  ~DriverSet();
  DriverSet(const DriverSet&) = delete;
  DriverSet& operator=(const DriverSet&) = delete;

  // Creates each instance checked in `report` (check_drivers on this set's config) with
  // `services` behind its host table. A driver whose library does not load, or whose create fails,
  // is skipped when its entry says on_load_error: skip; otherwise this throws StartupError naming
  // the driver, the file and the driver's own message. Nothing is created when a check fails.
  void load_all(const DriverCheckReport& report, HostServices* services,
                const CallTimer& timed = {});
  // [loop] One more instance from its check (a reload's added or changed driver), appended
  // with the next index: indices never move, so connection records and tickets stay valid.
  // Throws StartupError as load_all does; a skipped one is returned with `skipped` set.
  DriverInstance& load_one(const DriverCheck& check, HostServices* services,
                           const CallTimer& timed = {});

  // Adds an instance of an already-loaded descriptor (tests, and drivers linked in statically).
  DriverInstance& adopt(const config::DriverConfig& cfg, const oemlink_driver* d,
                        oemlink_instance* inst, HostServices* services);

  size_t size() const { return drivers_.size(); }
  DriverInstance& operator[](size_t i) { return *drivers_[i]; }
  const DriverInstance& operator[](size_t i) const { return *drivers_[i]; }
  // The configured instance of that name (a retired one is passed over); null when none.
  DriverInstance* find(std::string_view name);

  // The newest instance of that name, retired or not (a driver quarantined while running is
  // retired but still the one `oemlink status` describes); null when none.
  const DriverInstance* latest(std::string_view name) const;

  // [loop] No longer configured: find() passes over it from now on.
  void retire(DriverInstance& d) { d.retired = true; }
  // [loop] Ends its subscriptions and destroys it (the caller made sure it is idle).
  void destroy(DriverInstance& d, const CallTimer& timed = {});

  // Every driver's host table refuses from now on (the host is going away).
  void detach_services();

  // Destroys every instance whose `busy` count is zero; the rest are kept for good (see above).
  void destroy_idle(const std::vector<size_t>& busy, const CallTimer& timed = {});

 private:
  const config::Config& cfg_;
  std::vector<std::filesystem::path> plugin_dirs_;
  std::vector<std::unique_ptr<DriverInstance>> drivers_;
};

}  // namespace oemlink::host
