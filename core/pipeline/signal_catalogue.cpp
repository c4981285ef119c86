#include "core/pipeline/signal_catalogue.hpp"

#include <cmath>
#include <string_view>
#include <unordered_map>

namespace oemlink::pipeline {
namespace {

const SignalSpec kSignals[] = {
#include "core/pipeline/signal_catalogue.inc"
};

const std::unordered_map<std::string_view, const SignalSpec*>& index() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<std::string_view, const SignalSpec*>();
    m->reserve(std::size(kSignals) * 2);
    for (const SignalSpec& s : kSignals) m->emplace(s.name, &s);
    return m;
  }();
  return *map;
}

}  // namespace

const SignalSpec* find_signal(std::string_view name) {
  const auto& m = index();
  auto it = m.find(name);
  return it == m.end() ? nullptr : it->second;
}

std::span<const SignalSpec> all_signals() {
  return kSignals;
}

}  // namespace oemlink::pipeline
