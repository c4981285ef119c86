#include "core/host/driver_set.hpp"

#include "core/host/driver_call_frame.hpp"
#include "core/host/host_services.hpp"
#include "core/isolation/child_process.hpp"
#include "core/isolation/remote_driver.hpp"
#include "core/loader/driver_library.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace oemlink::host {
namespace {

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

// Drivers that were still busy at shutdown, and the connection contexts they were never asked
// to close: reachable for the rest of the process (not a leak), because the driver may still
// call its host table, whose host_data points at its DriverInstance.
std::vector<std::unique_ptr<DriverInstance>>& graveyard() {
  static auto* g = new std::vector<std::unique_ptr<DriverInstance>>();
  return *g;
}

}  // namespace

std::string join_lines(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& l : lines) all += (all.empty() ? "" : "\n") + l;
  return all;
}

DriverSet::DriverSet(const config::Config& cfg, std::vector<std::filesystem::path> plugin_dirs)
    : cfg_(cfg), plugin_dirs_(std::move(plugin_dirs)) {
  if (plugin_dirs_.empty()) plugin_dirs_ = loader::default_plugin_dirs();
}

DriverSet::~DriverSet() {
  for (auto& d : drivers_) {
    d->services.store(nullptr);
    if (!d->inst) continue;
    graveyard().push_back(std::move(d));
  }
}

void DriverSet::load_all(const DriverCheckReport& report, HostServices* services,
                         const CallTimer& timed) {
  if (!report.errors.empty()) throw StartupError(join_lines(report.errors));
  for (const DriverCheck& c : report.drivers) load_one(c, services, timed);
}

DriverInstance& DriverSet::load_one(const DriverCheck& c, HostServices* services,
                                    const CallTimer& timed) {
  const config::DriverConfig& dc = *c.cfg;
  auto di = std::make_unique<DriverInstance>();
  di->services.store(services);
  di->index = static_cast<uint32_t>(drivers_.size());
  di->config = dc;
  di->name = dc.name;
  di->path = c.path;
  di->d = c.descriptor;
  if (c.quarantined) {
    spdlog::error(
        "driver {} is quarantined and not loaded: {}; its connections are not served until "
        "`oemlink plugins unquarantine {}`",
        dc.name, c.quarantine_reason, dc.name);
    di->skipped = true;
    di->quarantined = true;
    di->quarantine_reason = c.quarantine_reason;
    drivers_.push_back(std::move(di));
    return *drivers_.back();
  }
  if (c.skipped) {  // the library did not load; anything worse stopped us above
    spdlog::warn("driver {} skipped (on_load_error: skip): {}", dc.name, c.error);
    di->skipped = true;
    drivers_.push_back(std::move(di));
    return *drivers_.back();
  }
  const oemlink_driver* d = di->d;
  // Before create: a crash on a thread of the driver's own names it too (driver_call_frame.hpp).
  if (!register_driver_code(di->name, di->path, reinterpret_cast<const void*>(d->create)))
    spdlog::warn(
        "driver {}: a crash on a thread of its own will not name it (its code was not "
        "found, or {} drivers are already known)",
        dc.name, kMaxDriverCode);
  di->table = make_host_table(*di);
  char err[1024] = {};
  auto t0 = std::chrono::steady_clock::now();
  oemlink_status st;
  if (dc.isolation == config::DriverIsolation::process) {
    // Same descriptor data, calls that travel to the driver's own process (core/isolation).
    isolation::RemoteDriverOptions options;
    options.name = dc.name;
    options.library = di->path;
    options.program = isolation::find_driver_process_program();
    di->d = isolation::remote_descriptor(d);
    st = isolation::create_remote_instance(options, &di->table,
                                           {c.settings_json.data(), c.settings_json.size()},
                                           &di->inst, err, sizeof err - 1);
    d = di->d;
  } else {
    st = call_driver(*di, "create", {}, [&] {
      return d->create(&di->table, {c.settings_json.data(), c.settings_json.size()}, &di->inst, err,
                       sizeof err - 1);
    });
  }
  if (timed) timed(*di, "create", ms_since(t0));
  if (st != OEMLINK_OK) {
    if (services) services->end_subscriptions(*di);  // a failed create may have left some
    di->inst = nullptr;
    std::string why =
        "init failed in " + di->path.string() + ": " + (err[0] ? std::string(err) : "(no message)");
    if (dc.on_load_error != config::OnLoadError::skip) {
      // Kept (never created, so nothing to destroy): a timer or request the failed create
      // started may still call into its host table.
      di->retired = true;
      drivers_.push_back(std::move(di));
      throw StartupError("driver " + dc.name + ": " + why);
    }
    spdlog::warn("driver {} skipped (on_load_error: skip): {}", dc.name, why);
    di->skipped = true;
    drivers_.push_back(std::move(di));
    return *drivers_.back();
  }
  spdlog::info("driver {} loaded: {} {} (ABI {}.{}, {}) from {}{}", dc.name, d->name, d->version,
               d->abi_major, d->abi_minor, loader::describe_capabilities(d->capabilities),
               di->path.string(),
               dc.isolation == config::DriverIsolation::process
                   ? ", in its own process (pid " +
                         std::to_string(isolation::remote_instance_pid(di->inst)) + ")"
                   : std::string());
  drivers_.push_back(std::move(di));
  return *drivers_.back();
}

DriverInstance& DriverSet::adopt(const config::DriverConfig& cfg, const oemlink_driver* d,
                                 oemlink_instance* inst, HostServices* services) {
  auto di = std::make_unique<DriverInstance>();
  di->services.store(services);
  di->index = static_cast<uint32_t>(drivers_.size());
  di->config = cfg;
  di->name = cfg.name;
  di->d = d;
  di->inst = inst;
  di->table = make_host_table(*di);
  drivers_.push_back(std::move(di));
  return *drivers_.back();
}

void DriverSet::detach_services() {
  for (auto& d : drivers_) d->services.store(nullptr);
}

DriverInstance* DriverSet::find(std::string_view name) {
  for (auto& d : drivers_)
    if (d->name == name && !d->retired) return d.get();
  return nullptr;
}

const DriverInstance* DriverSet::latest(std::string_view name) const {
  for (auto it = drivers_.rbegin(); it != drivers_.rend(); ++it)
    if ((*it)->name == name) return it->get();
  return nullptr;
}

void DriverSet::destroy(DriverInstance& d, const CallTimer& timed) {
  if (!d.inst) return;
  if (HostServices* s = d.services.load()) s->end_subscriptions(d);
  auto t0 = std::chrono::steady_clock::now();
  call_driver(d, "destroy", {}, [&] { d.d->destroy(d.inst); });
  if (timed) timed(d, "destroy", ms_since(t0));
  d.inst = nullptr;
}

void DriverSet::destroy_idle(const std::vector<size_t>& busy, const CallTimer& timed) {
  for (auto& d : drivers_) {
    if (!d->inst || (d->index < busy.size() && busy[d->index])) continue;
    // The ABI promises that no subscription callback runs into a destroyed instance.
    destroy(*d, timed);
  }
}

}  // namespace oemlink::host
