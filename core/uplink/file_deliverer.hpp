// The JSON Lines file as an outbox sink. A delivery counts only once its line is flushed and
// synced to disk, so acknowledging it to the outbox never loses an event in a crash: lines are
// written as they come and confirmed together at each flush (every flush_interval, or sooner
// when many are waiting).
#pragma once

#include "core/config/config.hpp"
#include "core/uplink/event_deliverer.hpp"
#include "core/uplink/jsonl_file_sink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace oemlink::uplink {

class FileDeliverer final : public EventDeliverer {
 public:
  FileDeliverer(std::string name, const config::FileSinkConfig& cfg, boost::asio::io_context& io,
                MetricsRegistry& metrics);
  std::string_view name() const override { return name_; }
  size_t max_in_flight() const override { return 4096; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override;
  void shutdown() override;

 private:
  void confirm();

  std::string name_;
  config::FileSinkConfig cfg_;
  JsonLinesFileSink file_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::vector<DeliveryDone> waiting_;
};

}  // namespace oemlink::uplink
