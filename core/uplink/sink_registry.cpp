#include "core/uplink/sink_registry.hpp"

#include "core/uplink/file_deliverer.hpp"
#include "core/uplink/https_deliverer.hpp"
#include "core/uplink/mqtt_deliverer.hpp"

#include <stdexcept>

namespace oemlink::uplink {

void SinkRegistry::add(std::string type, DelivererFactory factory) {
  factories_[std::move(type)] = std::move(factory);
}

bool SinkRegistry::knows(std::string_view type) const {
  return factories_.find(type) != factories_.end();
}

std::vector<std::string> SinkRegistry::types() const {
  std::vector<std::string> out;
  for (auto& [type, f] : factories_) out.push_back(type);
  return out;
}

std::unique_ptr<EventDeliverer> SinkRegistry::make(const config::SinkConfig& sink,
                                                   SinkContext& ctx) const {
  auto it = factories_.find(sink.type);
  if (it == factories_.end()) {
    std::string known;
    for (auto& [type, f] : factories_) known += (known.empty() ? "" : ", ") + type;
    throw std::runtime_error("unsupported type '" + sink.type +
                             "' (this build knows: " + (known.empty() ? "none" : known) + ")");
  }
  return it->second(sink, ctx);
}

void register_builtin_sinks(SinkRegistry& registry) {
  registry.add("file", [](const config::SinkConfig& s, SinkContext& ctx) {
    return std::make_unique<FileDeliverer>(s.name, s.file, ctx.io, ctx.metrics);
  });
  registry.add("dimo_https", [](const config::SinkConfig& s, SinkContext& ctx) {
    return std::make_unique<HttpsDeliverer>(s.name, s.https, ctx.io, ctx.http.allow_plain_http,
                                            ctx.clock_skew);
  });
  registry.add("mqtt", [](const config::SinkConfig& s, SinkContext& ctx) {
    return std::make_unique<MqttDeliverer>(s.name, s.mqtt, ctx.io);
  });
}

}  // namespace oemlink::uplink
