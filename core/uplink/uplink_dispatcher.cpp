#include "core/uplink/uplink_dispatcher.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>

namespace oemlink::uplink {
namespace {

// Seconds: a local file sink acknowledges in milliseconds, a remote ingest in tens to hundreds
// of them, a backlog after an outage in minutes.
const std::vector<double> kDeliveryLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                     1,     2.5,  5,     10,   30,  60,   300};

}  // namespace

UplinkDispatcher::UplinkDispatcher(boost::asio::io_context& io, store::OutboxStore& outbox,
                                   std::unique_ptr<EventDeliverer> deliverer,
                                   MetricsRegistry& metrics, DispatcherOptions options,
                                   std::unique_ptr<UplinkClock> clock)
    : io_(io),
      outbox_(outbox),
      deliverer_(std::move(deliverer)),
      opts_(options),
      sink_(deliverer_->name()),
      clock_(clock ? std::move(clock) : std::make_unique<SystemUplinkClock>(io)),
      delivered_(metrics.counter("oemlink_sink_events_delivered_total",
                                 "Events the sink's peer acknowledged", {{"sink", sink_}})),
      retried_(metrics.counter("oemlink_sink_events_retried_total",
                               "Delivery attempts that failed and will be retried",
                               {{"sink", sink_}})),
      dead_lettered_(metrics.counter("oemlink_sink_events_dead_lettered_total",
                                     "Events the peer refused for good, moved to dead letters",
                                     {{"sink", sink_}})),
      held_(metrics.counter("oemlink_sink_events_held_total",
                            "Delivery attempts deferred because the event's time is further ahead "
                            "of true time than the peer accepts (clock skew)",
                            {{"sink", sink_}})),
      latency_(metrics.histogram("oemlink_sink_delivery_latency_seconds",
                                 "From an event's append to the outbox to its acknowledgement",
                                 kDeliveryLatencyBuckets, {{"sink", sink_}})),
      log_(10, metrics),
      alive_(std::make_shared<bool>(true)) {
  latency_ms_.assign(60'001, 0);
}

UplinkDispatcher::~UplinkDispatcher() {
  if (!stopped_) stop();
  alive_.reset();  // late deliverer callbacks find nothing to call
}

void UplinkDispatcher::start() {
  started_steady_ms_ = clock_->steady_ms();
  read_pos_ = outbox_.cursor(sink_);
  stopped_ = false;
  may_have_more_ = true;
  reader_ = std::make_unique<boost::asio::thread_pool>(1);
  ack_stop_ = false;
  ack_thread_ = std::thread([this] { ack_writer(); });
  pump();
}

void UplinkDispatcher::wake() {
  may_have_more_ = true;  // new durable records: read now, or right after the read in progress
  pump();
}

void UplinkDispatcher::pump() {
  if (stopped_) return;
  // Deliverers may finish inline; the outer call keeps going instead of recursing.
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    refill();
    size_t cap = std::max<size_t>(1, deliverer_->max_in_flight());
    while (!stopped_ && in_flight_ < cap && !ready_.empty()) {
      std::string conn = std::move(ready_.front());
      ready_.pop_front();
      auto it = conns_.find(conn);
      if (it == conns_.end()) continue;
      ConnQueue& q = it->second;
      if (q.busy || q.waiting || q.records.empty()) continue;
      start_next(conn, q);
    }
  } while (pump_again_ && !stopped_);
  pumping_ = false;
}

void UplinkDispatcher::refill() {
  // Reads only when the outbox may hold more for us: after a wake (new durable records) or a
  // full batch; an idle fleet costs no reads at all.
  if (!may_have_more_ || reading_ || stopped_ || pending_ >= opts_.max_pending) return;
  may_have_more_ = false;
  size_t want = std::min(opts_.read_batch, opts_.max_pending - pending_);
  reading_ = true;
  std::weak_ptr<bool> alive = alive_;
  uint64_t from = read_pos_;
  boost::asio::post(*reader_, [this, alive, from, want] {
    std::vector<store::OutboxRecord> batch;
    try {
      batch = outbox_.read(sink_, from, want);
    } catch (const std::exception& e) {
      log_.log(clock_->unix_ms(), spdlog::level::err, LogFields{.sink = sink_},
               "sink {}: reading the outbox failed: {}", sink_, e.what());
    }
    boost::asio::post(io_, [this, alive, want, batch = std::move(batch)]() mutable {
      if (alive.expired()) return;
      take(std::move(batch), want);
    });
  });
}

// [loop] A read came back: queue its records per connection and keep reading while full
// batches arrive.
void UplinkDispatcher::take(std::vector<store::OutboxRecord> batch, size_t wanted) {
  reading_ = false;
  if (stopped_) return;
  bool more = batch.size() == wanted;
  for (auto& rec : batch) {
    if (rec.seq <= read_pos_) continue;  // already queued (a wake raced the read)
    read_pos_ = rec.seq;
    ConnQueue& q = conns_[rec.connection_id];
    bool was_idle = q.records.empty() && !q.busy && !q.waiting;
    std::string conn = rec.connection_id;
    q.records.push_back(std::move(rec));
    ++pending_;
    if (was_idle) ready_.push_back(std::move(conn));
  }
  if (more) may_have_more_ = true;
  pump();
}

void UplinkDispatcher::start_next(const std::string& conn, ConnQueue& q) {
  q.busy = true;
  ++in_flight_;
  std::weak_ptr<bool> alive = alive_;
  LogScope delivering(
      LogFields{.connection = conn, .sink = sink_, .event_id = q.records.front().event_id});
  // deque::push_back keeps references valid, so front() stays put until finish() pops it.
  deliverer_->deliver(q.records.front(), [this, alive, conn](DeliveryResult r) {
    if (alive.expired()) return;
    finish(conn, std::move(r));
  });
}

void UplinkDispatcher::finish(const std::string& conn, DeliveryResult result) {
  auto it = conns_.find(conn);
  if (it == conns_.end() || !it->second.busy) return;  // a second done: ignore
  ConnQueue& q = it->second;
  q.busy = false;
  --in_flight_;
  if (stopped_) return;  // left in the outbox; delivered after the restart
  const store::OutboxRecord& rec = q.records.front();
  const LogFields about{.connection = conn, .sink = sink_, .event_id = rec.event_id};
  switch (result.kind) {
    case DeliveryResult::Kind::delivered: {
      delivered_.add();
      last_delivered_steady_ms_ = clock_->steady_ms();
      int64_t ms = std::max<int64_t>(0, clock_->unix_ms() - rec.appended_ms);
      latency_max_ms_ = std::max(latency_max_ms_, ms);
      latency_ms_[std::min<size_t>(static_cast<size_t>(ms), latency_ms_.size() - 1)]++;
      latency_.observe(static_cast<double>(ms) / 1000.0);
      queue_ack(rec.seq);
      q.failures = 0;
      q.records.pop_front();
      --pending_;
      break;
    }
    case DeliveryResult::Kind::rejected:
      dead_lettered_.add();
      log_.log(clock_->unix_ms(), spdlog::level::err, about,
               "sink {}: event {} (connection {}) rejected by the peer: {}; kept in the "
               "dead-letter table (oemlink deadletter list)",
               sink_, rec.event_id, conn, result.detail);
      queue_dead_letter(rec.seq, std::move(result.detail));
      q.failures = 0;
      q.records.pop_front();
      --pending_;
      break;
    case DeliveryResult::Kind::held:
    case DeliveryResult::Kind::retry: {
      std::chrono::milliseconds delay;
      if (result.kind == DeliveryResult::Kind::held) {
        // Not a failure of the peer: no back-off growth, just wait for true time to catch up.
        held_.add();
        delay = std::max(result.retry_after, std::chrono::milliseconds(100));
        log_.log(clock_->unix_ms(), spdlog::level::warn, about,
                 "sink {}: event {} (connection {}) held in the outbox: {}; looked at again in "
                 "{} ms",
                 sink_, rec.event_id, conn, result.detail, delay.count());
      } else {
        retried_.add();
        if (q.failures < 30) ++q.failures;
        delay = std::max(backoff(q.failures), result.retry_after);
        log_.log(clock_->unix_ms(), spdlog::level::warn, about,
                 "sink {}: event {} (connection {}) not delivered: {}; retry #{} in {} ms", sink_,
                 rec.event_id, conn, result.detail, q.failures, delay.count());
      }
      q.waiting = true;
      if (!q.timer) q.timer = clock_->make_timer();
      std::weak_ptr<bool> alive = alive_;
      q.timer->start(delay, [this, alive, conn] {
        if (alive.expired() || stopped_) return;
        auto it2 = conns_.find(conn);
        if (it2 == conns_.end()) return;
        it2->second.waiting = false;
        if (!it2->second.records.empty()) ready_.push_back(conn);
        pump();
      });
      pump();
      return;
    }
  }
  if (!q.records.empty()) {
    ready_.push_back(conn);
  } else if (!q.waiting) {
    conns_.erase(it);  // keeps the map as small as the backlog, not the fleet
  }
  pump();
}

std::chrono::milliseconds UplinkDispatcher::backoff(uint8_t failures) {
  int shift = std::min<int>(failures > 0 ? failures - 1 : 0, 20);
  int64_t base = opts_.min_backoff.count();
  int64_t d = std::min<int64_t>(opts_.max_backoff.count(), base << shift);
  // Equal jitter: retries of many cars after an outage spread out instead of arriving together.
  return std::chrono::milliseconds(d / 2 + static_cast<int64_t>(rng_.next() % (d / 2 + 1)));
}

void UplinkDispatcher::queue_ack(uint64_t seq) {
  std::lock_guard lock(ack_mu_);
  acks_.push_back(seq);
  ack_cv_.notify_one();
}

void UplinkDispatcher::queue_dead_letter(uint64_t seq, std::string reason) {
  std::lock_guard lock(ack_mu_);
  dead_.emplace_back(seq, std::move(reason));
  ack_cv_.notify_one();
}

void UplinkDispatcher::ack_writer() {
  std::vector<uint64_t> acks;
  std::vector<std::pair<uint64_t, std::string>> dead;
  std::unique_lock lock(ack_mu_);
  for (;;) {
    ack_cv_.wait(lock, [&] { return ack_stop_ || !acks_.empty() || !dead_.empty(); });
    if (!ack_stop_) {
      // Let a batch gather: one durable write per interval, not one per event.
      ack_cv_.wait_for(lock, opts_.ack_interval, [&] { return ack_stop_; });
    }
    acks.insert(acks.end(), acks_.begin(), acks_.end());
    acks_.clear();
    for (auto& d : dead_) dead.push_back(std::move(d));
    dead_.clear();
    bool stopping = ack_stop_;
    lock.unlock();
    try {
      for (auto& [seq, reason] : dead) outbox_.dead_letter(sink_, seq, reason);
      dead.clear();
      if (!acks.empty()) outbox_.ack(sink_, acks);
      acks.clear();
    } catch (const std::exception& e) {
      // Kept for the next round: an unwritten acknowledgement only means a redelivery.
      log_.log(clock_->unix_ms(), spdlog::level::err, LogFields{.sink = sink_},
               "sink {}: writing acknowledgements failed: {}", sink_, e.what());
      if (stopping) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    lock.lock();
    if (stopping && acks_.empty() && dead_.empty()) return;
  }
}

void UplinkDispatcher::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [conn, q] : conns_)
    if (q.timer) q.timer->cancel();
  deliverer_->shutdown();
  if (reader_) reader_->join();  // its result, if any, is dropped: stopped_ is set
  {
    std::lock_guard lock(ack_mu_);
    ack_stop_ = true;
    ack_cv_.notify_one();
  }
  if (ack_thread_.joinable()) ack_thread_.join();
}

DispatcherStats UplinkDispatcher::stats() const {
  DispatcherStats s{delivered_.value(), retried_.value(), dead_lettered_.value(), in_flight_,
                    pending_};
  s.last_delivered_steady_ms = last_delivered_steady_ms_;
  s.started_steady_ms = started_steady_ms_;
  uint64_t total = 0;
  for (uint64_t n : latency_ms_) total += n;
  if (total == 0) return s;
  uint64_t seen = 0;
  bool p50 = false;
  for (size_t ms = 0; ms < latency_ms_.size(); ++ms) {
    seen += latency_ms_[ms];
    if (!p50 && seen * 2 >= total) {
      s.latency_p50_ms = static_cast<int64_t>(ms);
      p50 = true;
    }
    if (seen * 100 >= total * 99) {
      s.latency_p99_ms = static_cast<int64_t>(ms);
      break;
    }
  }
  s.latency_max_ms = latency_max_ms_;
  return s;
}

}  // namespace oemlink::uplink
