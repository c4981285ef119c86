#include "core/host/reload_plan.hpp"

#include <algorithm>

namespace oemlink::host {
namespace {

void strip(config::ConfigNode& n) {
  n.mark = {};
  for (auto& e : n.entries) {
    strip(e.key);
    strip(e.value);
  }
  for (auto& i : n.items) strip(i);
}

// Copies without their positions: equal when only the lines around them moved.
template <class T>
T unplaced(T v) {
  v.position = {};
  return v;
}

config::DriverConfig unplaced(config::DriverConfig d) {
  d.position = {};
  strip(d.settings);
  return d;
}

template <class T>
bool same(const std::optional<T>& a, const std::optional<T>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || unplaced(*a) == unplaced(*b);
}

template <class T>
const T* find_named(const std::vector<T>& list, const std::string& name) {
  for (const auto& s : list)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

ReloadPlan plan_reload(const config::Config& running, const config::Config& next) {
  ReloadPlan p;
  auto name_if = [&](bool differs, const char* name) {
    if (differs) p.not_live.emplace_back(name);
  };
  name_if(running.data_dir != next.data_dir, "data_dir");
  name_if(unplaced(running.vault) != unplaced(next.vault), "vault");
  name_if(running.data_kek != next.data_kek, "data_kek");
  name_if(running.outbox != next.outbox, "outbox");
  name_if(running.http != next.http, "http");
  name_if(running.schedule != next.schedule, "schedule");
  name_if(unplaced(running.dimo) != unplaced(next.dimo), "dimo");
  name_if(unplaced(running.linking) != unplaced(next.linking), "linking");
  name_if(running.logging.format != next.logging.format, "logging.format");
  name_if(running.logging.file != next.logging.file, "logging.file");
  name_if(!same(running.listeners.inbound, next.listeners.inbound), "listeners.inbound");
  name_if(!same(running.listeners.admin, next.listeners.admin), "listeners.admin");
  name_if(!same(running.listeners.operations, next.listeners.operations), "listeners.operations");
  for (const auto& d : next.drivers) {
    const config::DriverConfig* was = find_named(running.drivers, d.name);
    if (!was)
      p.drivers_added.push_back(d.name);
    else if (unplaced(*was) != unplaced(d))
      p.drivers_changed.push_back(d.name);
  }
  for (const auto& d : running.drivers)
    if (!find_named(next.drivers, d.name)) p.drivers_removed.push_back(d.name);
  if (running.sinks.empty() != next.sinks.empty()) p.not_live.emplace_back("sinks (none vs some)");

  for (const auto& s : next.sinks) {
    const config::SinkConfig* was = find_named(running.sinks, s.name);
    if (!was)
      p.sinks_added.push_back(s.name);
    else if (unplaced(*was) != unplaced(s))
      p.sinks_changed.push_back(s.name);
  }
  for (const auto& s : running.sinks)
    if (!find_named(next.sinks, s.name)) p.sinks_removed.push_back(s.name);
  if (running.logging.level != next.logging.level) p.logging_level = next.logging.level;
  return p;
}

std::string refusal_line(const ReloadPlan& plan) {
  std::string names;
  for (const auto& n : plan.not_live) names += (names.empty() ? "" : ", ") + n;
  return "reload refused: " + names + " cannot" + " change while running; restart to apply";
}

}  // namespace oemlink::host
