#include "core/uplink/file_deliverer.hpp"

namespace oemlink::uplink {

FileDeliverer::FileDeliverer(std::string name, const config::FileSinkConfig& cfg,
                             boost::asio::io_context& io, MetricsRegistry& metrics)
    : name_(std::move(name)), cfg_(cfg), file_(name_, cfg, metrics), timer_(io) {}

void FileDeliverer::deliver(const store::OutboxRecord& record, DeliveryDone done) {
  pipeline::Event ev;
  ev.id = record.event_id;
  ev.json = record.json;
  if (!file_.append(ev)) {
    done({DeliveryResult::Kind::retry, "cannot write " + cfg_.path.string(), {}});
    return;
  }
  waiting_.push_back(std::move(done));
  if (waiting_.size() >= 1024) {
    confirm();
    return;
  }
  if (!timer_armed_) {
    timer_armed_ = true;
    timer_.expires_after(
        std::min<std::chrono::milliseconds>(cfg_.flush_interval, std::chrono::milliseconds(200)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      timer_armed_ = false;
      if (!ec) confirm();
    });
  }
}

void FileDeliverer::confirm() {
  std::vector<DeliveryDone> batch;
  batch.swap(waiting_);
  bool ok = file_.sync();
  for (auto& done : batch) {
    if (ok)
      done({DeliveryResult::Kind::delivered, {}, {}});
    else
      done({DeliveryResult::Kind::retry, "cannot sync " + cfg_.path.string(), {}});
  }
}

void FileDeliverer::shutdown() {
  timer_.cancel();
  confirm();  // what was written is synced and confirmed rather than written twice
}

}  // namespace oemlink::uplink
