// SinkRegistry: which sink types the host can build, by the `type` of a `sinks:` entry. The
// executable fills it explicitly (register_builtin_sinks), so adding a protocol is one factory
// and one line in main, and the host never switches on type strings.
#pragma once

#include "core/common/metrics.hpp"
#include "core/config/config.hpp"
#include "core/net/clock_skew_estimator.hpp"
#include "core/uplink/event_deliverer.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace oemlink::uplink {

// What every deliverer may use besides its own config block.
struct SinkContext {
  boost::asio::io_context& io;
  MetricsRegistry& metrics;
  const config::HttpConfig& http;  // allow_plain_http, CA file
  // Fed by HTTPS sinks' answers; decides which events are held (borrowed; null: none).
  net::ClockSkewEstimator* clock_skew = nullptr;
};

using DelivererFactory =
    std::function<std::unique_ptr<EventDeliverer>(const config::SinkConfig&, SinkContext&)>;

class SinkRegistry {
 public:
  // Registers `type`; a second registration of the same type replaces the first.
  void add(std::string type, DelivererFactory factory);
  bool knows(std::string_view type) const;
  std::vector<std::string> types() const;
  // Builds the deliverer for `sink`. Throws std::runtime_error for an unknown type (naming the
  // known ones) or with the deliverer's own reason.
  std::unique_ptr<EventDeliverer> make(const config::SinkConfig& sink, SinkContext& ctx) const;

 private:
  std::map<std::string, DelivererFactory, std::less<>> factories_;
};

// file, dimo_https, mqtt.
void register_builtin_sinks(SinkRegistry& registry);

}  // namespace oemlink::uplink
