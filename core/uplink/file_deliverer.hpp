// The JSON Lines file as an outbox sink. A delivery counts only once its line is on disk
// (fdatasync), so acknowledging it to the outbox never loses an event in a crash.
//
// Group commit without blocking the loop: lines are written as they come; whenever no sync is
// running, everything written so far is flushed to the kernel and one fdatasync() of a duplicate
// descriptor runs on a worker thread; when it returns, that whole batch is confirmed. The event
// loop never waits for the disk, and the disk sees one sync per batch, not per event.
//
// A line counts as delivered only if no sync of the sink failed since it was written (a failed
// write-back is reported once; a later successful sync does not bring those lines back), so a
// failed rotation sync or batch sync turns every line written before it into a retry.
#pragma once

#include "core/config/config.hpp"
#include "core/uplink/event_deliverer.hpp"
#include "core/uplink/jsonl_file_sink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <vector>

namespace oemlink::uplink {

class FileDeliverer final : public EventDeliverer {
 public:
  FileDeliverer(std::string name, const config::FileSinkConfig& cfg, boost::asio::io_context& io,
                MetricsRegistry& metrics, SyncFunction sync = sync_fd);
  ~FileDeliverer() override;
  std::string_view name() const override { return name_; }
  size_t max_in_flight() const override { return 65536; }
  void deliver(const store::OutboxRecord& record, DeliveryDone done) override;
  void shutdown() override;

 private:
  struct Written {
    DeliveryDone done;
    uint64_t sync_failures;  // the sink's count when the line was written
  };
  void start_sync();
  void finish_sync(bool ok, std::vector<Written> batch);

  std::string name_;
  config::FileSinkConfig cfg_;
  boost::asio::io_context& io_;
  JsonLinesFileSink file_;
  boost::asio::thread_pool syncer_{1};
  bool syncing_ = false;
  bool sync_posted_ = false;
  bool stopped_ = false;
  std::vector<Written> written_;  // on the page cache, waiting for the next sync
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace oemlink::uplink
