#include "core/uplink/file_deliverer.hpp"

#include <unistd.h>
#include <boost/asio/post.hpp>

namespace oemlink::uplink {

FileDeliverer::FileDeliverer(std::string name, const config::FileSinkConfig& cfg,
                             boost::asio::io_context& io, MetricsRegistry& metrics,
                             SyncFunction sync)
    : name_(std::move(name)), cfg_(cfg), io_(io), file_(name_, cfg, metrics, std::move(sync)) {}

FileDeliverer::~FileDeliverer() {
  shutdown();
  alive_.reset();
}

void FileDeliverer::deliver(const store::OutboxRecord& record, DeliveryDone done) {
  if (stopped_) {
    done({DeliveryResult::Kind::retry, "sink stopped", {}});
    return;
  }
  pipeline::Event ev;
  ev.id = record.event_id;
  ev.json = record.json;
  if (!file_.append(ev)) {
    done({DeliveryResult::Kind::retry, "cannot write " + cfg_.path.string(), {}});
    return;
  }
  written_.push_back({std::move(done), file_.sync_failures()});
  // Start the sync after the dispatcher has handed over everything it has ready this turn.
  if (!syncing_ && !sync_posted_) {
    sync_posted_ = true;
    std::weak_ptr<bool> alive = alive_;
    boost::asio::post(io_, [this, alive] {
      if (alive.expired()) return;
      sync_posted_ = false;
      start_sync();
    });
  }
}

void FileDeliverer::start_sync() {
  if (syncing_ || written_.empty() || stopped_) return;
  int fd = file_.flush_and_dup();
  std::vector<Written> batch;
  batch.swap(written_);
  if (fd < 0) {
    finish_sync(false, std::move(batch));
    return;
  }
  syncing_ = true;
  std::weak_ptr<bool> alive = alive_;
  boost::asio::post(
      syncer_, [this, alive, fd, sync = file_.sync_function(), batch = std::move(batch)]() mutable {
        bool ok = sync(fd, false) == 0;
        ::close(fd);
        boost::asio::post(io_, [this, alive, ok, batch = std::move(batch)]() mutable {
          if (alive.expired()) return;
          syncing_ = false;
          if (!ok) file_.count_sync_failure();
          finish_sync(ok, std::move(batch));
          start_sync();
        });
      });
}

void FileDeliverer::finish_sync(bool ok, std::vector<Written> batch) {
  for (auto& w : batch) {
    if (ok && w.sync_failures == file_.sync_failures())
      w.done({DeliveryResult::Kind::delivered, {}, {}});
    else
      w.done({DeliveryResult::Kind::retry, "cannot sync " + cfg_.path.string(), {}});
  }
}

void FileDeliverer::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  syncer_.join();  // a sync in flight completes; its confirmation is dropped with the loop's queue
  // What was written is synced and confirmed now rather than written twice after a restart.
  std::vector<Written> batch;
  batch.swap(written_);
  finish_sync(file_.sync(), std::move(batch));
}

}  // namespace oemlink::uplink
