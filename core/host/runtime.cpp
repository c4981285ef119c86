#include "core/host/runtime.hpp"
#include "core/common/wall_clock.hpp"

#include "core/config/driver_settings.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/secure_wipe.hpp"
#include "core/host/data_keys.hpp"
#include "core/host/driver_instance.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/loader/driver_library.hpp"
#include "core/pipeline/json_writer.hpp"
#include "core/uplink/file_deliverer.hpp"
#include "core/uplink/https_deliverer.hpp"
#include "core/uplink/jsonl_file_sink.hpp"
#include "core/uplink/mqtt_deliverer.hpp"
#include "core/uplink/outbox_sink.hpp"
#include "core/vault/child_registry.hpp"
#include "core/vault/kek_source.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>


#include <unistd.h>
#include <boost/json.hpp>

#include <csignal>
#include <cstring>
#include <fstream>

namespace oemlink::host {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kNoConn = UINT32_MAX;

std::string_view view(oemlink_str s) {
  return s.data ? std::string_view(s.data, s.size) : "";
}

oemlink_conn* handle_of(uint32_t index) {
  return reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(index) + 1);
}

std::string json_object(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    pipeline::append_json_string(out, k);
    out += ":";
    pipeline::append_json_string(out, v);
  }
  return out + "}";
}

const char* status_name(oemlink_status s) {
  switch (s) {
    case OEMLINK_OK:
      return "ok";
    case OEMLINK_RETRY:
      return "retry";
    default:
      return "error";
  }
}

void OEMLINK_CALL poll_done_trampoline(void* ctx, oemlink_status status, oemlink_str message) {
  TicketRef ref = decode_ticket(ctx);
  if (Runtime* rt = runtime_at(ref.runtime_slot)) rt->on_poll_done(ref, status, view(message));
}

void OEMLINK_CALL stream_ended_trampoline(void* ctx, oemlink_status status, oemlink_str message) {
  TicketRef ref = decode_ticket(ctx);
  if (Runtime* rt = runtime_at(ref.runtime_slot)) rt->on_stream_ended(ref, status, view(message));
}

// Rate-limit times from drivers are clamped: a value in microseconds or a garbage time would
// otherwise overflow timer arithmetic (and spin the loop) or park a car for centuries.
constexpr int64_t kMaxRateLimitMs = 30LL * 24 * 3600 * 1000;

}  // namespace

struct Runtime::DriverTimer {
  explicit DriverTimer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  oemlink_timer_fn fn = nullptr;
  void* ctx = nullptr;
};

Runtime::Runtime(config::Config cfg, RuntimeOptions options)
    : cfg_(std::move(cfg)),
      opts_(std::move(options)),
      loop_thread_(std::this_thread::get_id()),
      sched_(schedule::SchedulePolicy{
          .jitter = cfg_.schedule.jitter,
          .max_backoff_ms = cfg_.schedule.max_backoff.count(),
      }),
      sched_timer_(io_),
      stats_timer_(io_),
      watchdog_timer_(io_),
      status_timer_(io_),
      flush_timer_(io_),
      duration_timer_(io_),
      polls_ok_(metrics_.counter("polls_ok")),
      polls_retry_(metrics_.counter("polls_retry")),
      polls_error_(metrics_.counter("polls_error")),
      slow_calls_(metrics_.counter("driver_slow_calls")),
      conns_open_failed_(metrics_.counter("connections_open_failed")),
      conns_skipped_(metrics_.counter("connections_skipped")),
      stream_restarts_(metrics_.counter("stream_restarts")),
      late_completions_(metrics_.counter("driver_late_completions")),
      hung_polls_(metrics_.counter("driver_hung_polls")) {
  if (opts_.plugin_dirs.empty()) opts_.plugin_dirs = loader::default_plugin_dirs();
  slot_ = register_runtime(this);
}

Runtime::~Runtime() {
  // From here on, completions routed through tickets find no runtime and are dropped.
  unregister_runtime(slot_);
  // run() normally closed everything; if start() threw half way, close what was opened.
  if (!closed_) close_everything(/*abandoned_any=*/false);
  // A driver that still had work in flight at shutdown was neither closed nor destroyed; it may
  // still call its host table, whose host_data points at its DriverInstance. Keep those alive
  // (reachable, so not a leak) with their runtime pointer cleared: the services then refuse.
  struct Graveyard {
    std::vector<std::unique_ptr<DriverInstance>> drivers;
    std::vector<void*> connection_contexts;  // the driver's, for connections never closed
  };
  static auto* graveyard = new Graveyard();
  for (auto& c : conns_)
    if (c.open) graveyard->connection_contexts.push_back(c.driver_ctx);
  for (auto& d : drivers_) {
    if (!d->inst) continue;
    d->runtime = nullptr;
    graveyard->drivers.push_back(std::move(d));
  }
}

int64_t Runtime::sched_now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

int64_t Runtime::now_ms() const {
  return unix_ms();
}

// ---------------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------------

void Runtime::start() {
  loop_thread_ = std::this_thread::get_id();
  net::HttpClientOptions http;
  http.default_timeout = cfg_.http.default_timeout;
  http.allow_plain_http = cfg_.http.allow_plain_http;
  http.ca_file = cfg_.http.ca_file;
  http.max_connections_per_host = cfg_.http.max_connections_per_host;
  http_ = std::make_unique<net::CurlMultiClient>(io_, http);

  // Every event is signed: without a usable vault there is nothing worth sending.
  try {
    vault_ = open_configured_vault(cfg_);
  } catch (const std::exception& e) {
    throw StartupError(std::string("key vault: ") + e.what());
  }
  signer_ = std::make_unique<VaultSigner>(*vault_);
  open_outbox_and_sinks();
  std::vector<pipeline::EventSink*> sink_ptrs;
  if (outbox_sink_) sink_ptrs.push_back(outbox_sink_.get());
  for (auto* s : opts_.extra_sinks) sink_ptrs.push_back(s);
  if (sink_ptrs.empty())
    spdlog::warn("no sinks configured: events are built and counted, then discarded");
  pipeline::EnvelopeSettings envelope;
  envelope.chain_id = cfg_.dimo.chain_id;
  envelope.vehicle_contract = cfg_.dimo.vehicle_contract;
  envelope.synthetic_device_contract = cfg_.dimo.synthetic_device_contract;
  envelope.source = cfg_.dimo.source;
  pipeline_ = std::make_unique<pipeline::Pipeline>(
      pipeline::EventBuilder(std::move(envelope), signer_.get()), std::move(sink_ptrs), metrics_);
  // Signing runs on its own thread; a settled batch is reported back to the loop.
  signing_pending_ = std::make_unique<std::atomic<uint32_t>[]>(cfg_.connections.size() + 1);
  signing_ =
      std::make_unique<pipeline::SigningStage>(*pipeline_, [this](uint32_t c, uint64_t receipt) {
        boost::asio::post(io_, [this, c, receipt] { on_settled(c, receipt); });
      });

  // Connections of a skipped driver need a lane of their own: they are never scheduled.
  passive_lane_ = sched_.add_driver(schedule::DriverLimits{});
  load_drivers();
  open_connections();
}

// Every event goes into the durable outbox first; each configured sink delivers from there at its
// own cursor, so a slow or failing sink holds back only itself (within the outbox's bound).
void Runtime::open_outbox_and_sinks() {
  if (cfg_.sinks.empty()) return;
  std::vector<std::string> names;
  for (const auto& s : cfg_.sinks) names.push_back(s.name);
  try {
    DataKey key = open_sealed_data_key(cfg_, DataKeyPurpose::outbox);
    store::OutboxOptions o;
    o.path = DataDir(cfg_.data_dir).outbox_db();
    o.max_bytes = cfg_.outbox.max_bytes;
    o.max_records = cfg_.outbox.max_records;
    o.full_policy = cfg_.outbox.full_policy == config::OutboxConfig::FullPolicy::drop_oldest
                        ? store::FullPolicy::drop_oldest
                        : store::FullPolicy::block;
    o.max_commit_delay = cfg_.outbox.commit_delay;
    o.sinks = names;
    outbox_ = std::make_unique<store::OutboxStore>(
        o, key, [this](uint64_t seq) { boost::asio::post(io_, [this, seq] { on_durable(seq); }); });
    secure_wipe(key);
  } catch (const std::exception& e) {
    throw StartupError(std::string("outbox: ") + e.what());
  }
  outbox_sink_ = std::make_unique<uplink::OutboxSink>(*outbox_);
  durable_receipts_ = std::make_unique<uint64_t[]>(cfg_.connections.size() + 1);
  durable_seq_ = outbox_->stats().durable_seq;

  for (const config::SinkConfig& s : cfg_.sinks) {
    std::unique_ptr<uplink::EventDeliverer> d;
    try {
      if (s.type == "file")
        d = std::make_unique<uplink::FileDeliverer>(s.name, s.file, io_, metrics_);
      else if (s.type == "dimo_https")
        d = std::make_unique<uplink::HttpsDeliverer>(s.name, s.https, io_,
                                                     cfg_.http.allow_plain_http);
      else if (s.type == "mqtt")
        d = std::make_unique<uplink::MqttDeliverer>(s.name, s.mqtt, io_);
      else
        throw std::runtime_error("unsupported type '" + s.type + "'");
    } catch (const std::exception& e) {
      throw StartupError("sink " + s.name + " (" + s.position.file + ":" +
                         std::to_string(s.position.line) + "): " + e.what());
    }
    dispatchers_.push_back(
        std::make_unique<uplink::UplinkDispatcher>(io_, *outbox_, std::move(d), metrics_));
  }
}

// The outbox made everything up to `seq` durable: completions held for it go through, and the
// sinks get to see the new records.
void Runtime::on_durable(uint64_t seq) {
  durable_seq_ = std::max(durable_seq_, seq);
  while (!awaiting_durable_.empty() && awaiting_durable_.begin()->first <= durable_seq_) {
    uint32_t c = awaiting_durable_.begin()->second;
    awaiting_durable_.erase(awaiting_durable_.begin());
    try_release(c);
  }
  for (auto& d : dispatchers_) d->wake();
}

// A batch left the signing stage: it is in the outbox (receipt) or was rejected (0).
void Runtime::on_settled(uint32_t c, uint64_t receipt) {
  signing_pending_[c].fetch_sub(1);
  // Only the loop writes receipts (settlements are posted here), so a plain max will do.
  if (receipt && durable_receipts_) durable_receipts_[c] = std::max(durable_receipts_[c], receipt);
  try_release(c);
}

// A poll's completion waits while its batches are being signed or are not yet durable.
bool Runtime::completion_may_wait(uint32_t c) const {
  if (signing_pending_ && signing_pending_[c].load() > 0) return true;
  return durable_receipts_ && durable_receipts_[c] > durable_seq_;
}

// Applies connection c's held completion if nothing holds it any more; otherwise, when only
// durability is missing, files it under the receipt it waits for. Each connection has at most one
// held completion (it has at most one poll in flight), so this is O(log n), not a scan.
void Runtime::try_release(uint32_t c) {
  auto it = parked_.find(c);
  if (it == parked_.end()) return;
  if (!completion_may_wait(c)) {
    ParkedCompletion p = std::move(it->second);
    parked_.erase(it);
    apply_completion(c, p.status, p.message);
    return;
  }
  if (signing_pending_[c].load() == 0) awaiting_durable_.emplace(durable_receipts_[c], c);
}

void Runtime::release_parked() {
  std::vector<uint32_t> conns;
  conns.reserve(parked_.size());
  for (auto& [c, p] : parked_) conns.push_back(c);
  for (uint32_t c : conns) try_release(c);
}

void Runtime::load_drivers() {
  for (const config::DriverConfig& dc : cfg_.drivers) {
    auto di = std::make_unique<DriverInstance>();
    di->runtime = this;
    di->index = static_cast<uint32_t>(drivers_.size());
    di->cfg = &dc;
    di->name = dc.name;
    auto fail_or_skip = [&](const std::string& why) {
      if (dc.on_load_error == config::OnLoadError::skip) {
        spdlog::warn("driver {} skipped (on_load_error: skip): {}", dc.name, why);
        di->skipped = true;
        return;
      }
      throw StartupError("driver " + dc.name + ": " + why);
    };
    try {
      di->path = loader::resolve_driver_library(dc.library, dc.library_path, opts_.plugin_dirs);
      di->d = loader::load_driver_library(di->path).descriptor;
    } catch (const loader::DriverLoadError& e) {
      fail_or_skip(e.what());
      drivers_.push_back(std::move(di));
      continue;
    }
    const oemlink_driver* d = di->d;
    bool wants_poll = dc.mode == config::IngestMode::poll;
    if (wants_poll && !(d->capabilities & OEMLINK_CAP_POLL))
      throw StartupError(
          "driver " + dc.name + ": mode poll, but '" + d->name +
          "' cannot poll (capabilities: " + loader::describe_capabilities(d->capabilities) + ")");
    if (!wants_poll && !(d->capabilities & OEMLINK_CAP_STREAM))
      throw StartupError(
          "driver " + dc.name + ": stream mode, but '" + d->name +
          "' has no stream (capabilities: " + loader::describe_capabilities(d->capabilities) + ")");
    std::string settings = config::driver_settings_to_json(
        dc, std::span<const oemlink_setting>(d->settings, d->setting_count), dc.name);
    di->table = make_host_table(*di);
    char err[1024] = {};
    auto t0 = Clock::now();
    oemlink_status st =
        d->create(&di->table, {settings.data(), settings.size()}, &di->inst, err, sizeof err - 1);
    note_slow_call(*di, "create", kNoConn, Clock::now() - t0);
    if (st != OEMLINK_OK) {
      di->inst = nullptr;
      fail_or_skip("init failed in " + di->path.string() + ": " +
                   (err[0] ? std::string(err) : "(no message)"));
      drivers_.push_back(std::move(di));
      continue;
    }
    di->lane = sched_.add_driver(schedule::DriverLimits{
        .max_concurrent = dc.max_concurrent_requests,
        .rate_per_s = dc.rate_limit.per_second,
        .burst = dc.rate_limit.burst,
        .poll_interval_ms = dc.poll_interval.count(),
        .asleep_interval_ms = dc.asleep_interval.count(),
    });
    spdlog::info("driver {} loaded: {} {} (ABI {}.{}, {}) from {}", dc.name, d->name, d->version,
                 d->abi_major, d->abi_minor, loader::describe_capabilities(d->capabilities),
                 di->path.string());
    drivers_.push_back(std::move(di));
  }
}

void Runtime::open_connections() {
  std::map<std::string_view, DriverInstance*> by_name;
  for (auto& d : drivers_) by_name[d->name] = d.get();
  int64_t now = sched_now();
  // Key child numbers are claimed for good before any connection signs: a number that ever
  // belonged to another connection (even one removed since) must never sign for this one.
  std::vector<std::string> claim_error(cfg_.connections.size());
  {
    std::vector<std::pair<uint32_t, std::string_view>> claims;
    claims.reserve(cfg_.connections.size());
    for (const auto& cc : cfg_.connections) claims.emplace_back(cc.key_child, cc.id);
    try {
      vault::ChildRegistry registry(DataDir(cfg_.data_dir).keys_db());
      for (auto& [i, why] : registry.claim_all(claims)) claim_error[i] = std::move(why);
    } catch (const std::exception& e) {
      throw StartupError(std::string("key child registry: ") + e.what());
    }
  }
  conns_.reserve(cfg_.connections.size());
  for (const config::ConnectionConfig& cc : cfg_.connections) {
    DriverInstance* d = by_name.at(cc.driver);  // the config loader checked the name exists
    uint32_t index = static_cast<uint32_t>(conns_.size());
    ConnectionRecord rec;
    rec.id = cc.id;
    rec.vin = cc.vin;
    rec.identifiers_json = json_object(cc.identifiers);
    rec.vehicle_token_id = cc.vehicle_token_id;
    rec.synthetic_token_id = cc.synthetic_token_id;
    rec.key_child = cc.key_child;
    rec.instance = d->index;
    conns_.push_back(std::move(rec));
    ConnectionRecord& r = conns_.back();
    // Every connection has a scheduler slot with the same index, even one that did not open,
    // so handles stay a plain index.
    if (d->skipped || !d->inst || !claim_error[index].empty()) {
      sched_.add_connection(passive_lane_, now, 1, schedule::ConnMode::passive);
      sched_.report(index, schedule::ReportedState::failed, 0, now);
      if (!claim_error[index].empty()) {
        spdlog::error("connection {} not opened: {}", r.id, claim_error[index]);
        conns_open_failed_.add();
      } else {
        conns_skipped_.add();
      }
      continue;
    }
    auto mode = d->cfg->mode == config::IngestMode::poll     ? schedule::ConnMode::poll
                : d->cfg->mode == config::IngestMode::stream ? schedule::ConnMode::stream
                                                             : schedule::ConnMode::passive;
    int64_t interval = cc.poll_interval ? cc.poll_interval->count() : 0;
    sched_.add_connection(d->lane, now, interval, mode);

    oemlink_conn_info info{};
    info.struct_size = sizeof info;
    info.id = {r.id.data(), r.id.size()};
    info.vin = {r.vin.data(), r.vin.size()};
    info.identifiers_json = {r.identifiers_json.data(), r.identifiers_json.size()};
    info.vehicle_token_id = r.vehicle_token_id;
    info.synthetic_token_id = r.synthetic_token_id;
    char err[1024] = {};
    auto t0 = Clock::now();
    oemlink_status st =
        d->d->open(d->inst, handle_of(index), &info, &r.driver_ctx, err, sizeof err - 1);
    note_slow_call(*d, "open", index, Clock::now() - t0);
    if (st != OEMLINK_OK) {
      // One bad car must not stop the fleet: report it, count it, keep going.
      spdlog::error("connection {} (driver {}): open failed: {}", r.id, d->name,
                    err[0] ? err : "(no message)");
      conns_open_failed_.add();
      sched_.report(index, schedule::ReportedState::failed, 0, now);
      continue;
    }
    r.open = true;
    if (!opts_.quiet_startup)
      spdlog::debug("connection {} opened (driver {}, vin {})", r.id, d->name, r.vin);
  }
  // The records above now hold what connections need; a million parsed entries (positions,
  // maps) would otherwise stay resident for the life of the process.
  std::vector<config::ConnectionConfig>().swap(cfg_.connections);
  for (auto& d : drivers_)
    if (d->inst && d->cfg->mode == config::IngestMode::driver_stream) start_driver_stream(*d);
  spdlog::info("{} connections opened, {} failed, {} skipped",
               conns_.size() - conns_open_failed_.value() - conns_skipped_.value(),
               conns_open_failed_.value(), conns_skipped_.value());
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

int Runtime::run() {
  loop_thread_ = std::this_thread::get_id();
  if (opts_.handle_signals) {
    signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM);
    wait_for_signal();
  }
  if (opts_.duration.count() > 0) {
    duration_timer_.expires_after(opts_.duration);
    duration_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) request_stop();
    });
  }
  arm_periodic(stats_timer_, opts_.stats_interval, &Runtime::log_stats);
  write_status(true);
  arm_periodic(status_timer_, std::chrono::milliseconds(2000), &Runtime::write_running_status);
  std::chrono::milliseconds flush_every{1000};
  for (auto& s : cfg_.sinks) flush_every = std::min(flush_every, s.file.flush_interval);
  arm_periodic(flush_timer_, flush_every, &Runtime::flush_sinks);
  // Sweep often enough that a hung poll is caught within a quarter of the shortest timeout.
  std::chrono::milliseconds sweep_every{1000};
  for (auto& d : cfg_.drivers) sweep_every = std::min(sweep_every, d.poll_timeout / 4);
  arm_periodic(watchdog_timer_, std::max(sweep_every, std::chrono::milliseconds(50)),
               &Runtime::sweep_hung_polls);
  schedule_dispatch();
  for (auto& d : dispatchers_) d->start();

  int rc = 0;
  for (;;) {
    try {
      io_.run();  // returns once begin_shutdown() stopped it
      break;
    } catch (const std::exception& e) {
      // A bug, not an input problem: keep the data that is already built and stop cleanly.
      spdlog::critical("internal error on the event loop: {}; shutting down", e.what());
      rc = 1;
      stopping_ = false;
      begin_shutdown();
      io_.restart();
    }
  }
  drain_and_close();
  return rc;
}

void Runtime::wait_for_signal() {
  signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    ++signals_seen_;
    spdlog::info("signal {} received: stopping{}", sig,
                 signals_seen_ > 1 ? " now (second signal: not waiting for in-flight polls)" : "");
    request_stop();
    wait_for_signal();
  });
}

void Runtime::request_stop() {
  if (stop_requested_.exchange(true)) {
    if (signals_seen_ > 1) boost::asio::post(io_, [this] { io_.stop(); });
    return;
  }
  boost::asio::post(io_, [this] { begin_shutdown(); });
}

void Runtime::arm_periodic(boost::asio::steady_timer& t, std::chrono::milliseconds every,
                           void (Runtime::*fn)()) {
  if (every.count() <= 0) return;
  t.expires_after(every);
  t.async_wait([this, &t, every, fn](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    (this->*fn)();
    arm_periodic(t, every, fn);
  });
}

void Runtime::flush_sinks() {
  pipeline_->flush();
}

// A driver that never calls `done` would hold its connection and a concurrency slot forever.
// Give up on such polls: log, count, fail them in the schedule, and keep the ticket until the
// late completion (if any) arrives so it is recognised and ignored.
void Runtime::sweep_hung_polls() {
  int64_t now = sched_now();
  tickets_.for_each_live([&](Ticket* t) {
    if (t->stream || t->abandoned || t->conn >= conns_.size()) return;
    const DriverInstance& d = *drivers_[t->instance];
    int64_t age = now - t->started_ms;
    if (age < d.cfg->poll_timeout.count()) return;
    if (sched_.phase(t->conn) != schedule::Phase::in_flight || sched_.poll_seq(t->conn) != t->seq)
      return;
    t->abandoned = true;
    hung_polls_.add();
    polls_error_.add();
    sched_.complete(t->conn, schedule::Outcome::error, now);
    spdlog::error(
        "connection {} (driver {}): poll has not completed after {} s; counted as hung and "
        "failed (a late completion will be ignored)",
        conns_[t->conn].id, d.name, age / 1000);
  });
  schedule_dispatch();
}

void Runtime::schedule_dispatch() {
  if (dispatch_posted_ || stopping_) return;
  dispatch_posted_ = true;
  boost::asio::post(io_, [this] { dispatch(); });
}

void Runtime::dispatch() {
  dispatch_posted_ = false;
  if (stopping_) return;
  due_.clear();
  sched_.take_due(sched_now(), due_);
  for (schedule::ConnIndex c : due_) {
    if (stopping_) break;
    if (sched_.is_stream(c))
      start_stream(c);
    else
      start_poll(c);
  }
  arm_timer();
}

void Runtime::arm_timer() {
  if (stopping_) return;
  int64_t now = sched_now();
  int64_t next = sched_.next_wakeup(now);
  if (next == schedule::kNever) return;
  // Wake at least hourly: bounds timer arithmetic whatever a due time says.
  next = std::min(next, now + 3'600'000);
  if (next >= armed_at_) return;  // the pending wait fires early enough
  armed_at_ = next;
  sched_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, next - now)));
  sched_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or stopped
    armed_at_ = schedule::kNever;
    dispatch();
  });
}

Ticket* Runtime::issue_ticket(uint32_t c, uint32_t instance, bool stream) {
  Ticket* t = tickets_.acquire();
  t->conn = c;
  t->instance = instance;
  t->seq = c == kNoConn ? 0 : sched_.poll_seq(c);
  t->stream = stream;
  t->started_ms = sched_now();
  return t;
}

void Runtime::start_poll(schedule::ConnIndex c) {
  ConnectionRecord& r = conns_[c];
  DriverInstance& d = *drivers_[r.instance];
  Ticket* t = issue_ticket(c, r.instance, false);
  TicketRef ref{slot_, t->self - 1, t->generation & 0xFFFFFFu};
  auto t0 = Clock::now();
  oemlink_status st = d.d->poll(d.inst, handle_of(c), r.driver_ctx, &poll_done_trampoline,
                                encode_ticket(slot_, *t));
  note_slow_call(d, "poll", c, Clock::now() - t0);
  if (st != OEMLINK_OK && tickets_.find(ref)) {
    // The poll did not start, so `done` will not come: finish it here.
    finish_poll(ref, st == OEMLINK_RETRY ? OEMLINK_RETRY : OEMLINK_ERROR, "poll refused to start");
  }
}

void Runtime::on_poll_done(TicketRef ref, oemlink_status status, std::string_view message) {
  if (on_loop()) {
    finish_poll(ref, status, std::string(message));
    return;
  }
  boost::asio::post(
      io_, [this, ref, status, msg = std::string(message)] { finish_poll(ref, status, msg); });
}

void Runtime::finish_poll(TicketRef ref, oemlink_status status, const std::string& message) {
  Ticket* t = tickets_.find(ref);
  if (!t || t->stream) {  // released already: a duplicate or very late completion
    late_completions_.add();
    return;
  }
  if (t->abandoned) {  // the watchdog already failed this poll; only the ticket was waiting
    tickets_.release(t);
    late_completions_.add();
    return;
  }
  uint32_t c = t->conn;
  bool current = sched_.phase(c) == schedule::Phase::in_flight && sched_.poll_seq(c) == t->seq;
  tickets_.release(t);
  if (!current) {
    late_completions_.add();
    return;
  }
  // The poll counts as done only once what it emitted is durable in the outbox: until then the
  // connection stays in flight (holding its driver's concurrency slot, which is back-pressure).
  if (completion_may_wait(c)) {
    parked_[c] = {status, message};
    try_release(c);  // files it under the receipt it waits for, if signing is done
    return;
  }
  apply_completion(c, status, message);
}

void Runtime::apply_completion(uint32_t c, oemlink_status status, const std::string& message) {
  DriverInstance& d = *drivers_[conns_[c].instance];
  auto outcome = status == OEMLINK_OK      ? schedule::Outcome::ok
                 : status == OEMLINK_RETRY ? schedule::Outcome::retry
                                           : schedule::Outcome::error;
  (status == OEMLINK_OK ? polls_ok_ : status == OEMLINK_RETRY ? polls_retry_ : polls_error_).add();
  int64_t now = sched_now();
  sched_.complete(c, outcome, now);
  if (status != OEMLINK_OK) {
    uint64_t suppressed = 0;
    if (poll_log_.allow(now, suppressed)) {
      int64_t next = sched_.phase(c) == schedule::Phase::waiting ? sched_.due(c) - now : -1;
      spdlog::warn("connection {} (driver {}): poll {}: {} (failure #{}, next poll in {} s){}",
                   conns_[c].id, d.name, status_name(status),
                   message.empty() ? "(no message)" : message, sched_.failures(c),
                   next >= 0 ? next / 1000 : -1,
                   suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : "");
    }
  }
  ++polls_completed_;
  if (opts_.stop_after_polls && polls_completed_ >= opts_.stop_after_polls) request_stop();
  schedule_dispatch();
}

void Runtime::start_stream(schedule::ConnIndex c) {
  ConnectionRecord& r = conns_[c];
  DriverInstance& d = *drivers_[r.instance];
  Ticket* t = issue_ticket(c, r.instance, true);
  TicketRef ref{slot_, t->self - 1, t->generation & 0xFFFFFFu};
  sched_.stream_up(c);
  oemlink_status st = d.d->stream_start(d.inst, handle_of(c), r.driver_ctx,
                                        &stream_ended_trampoline, encode_ticket(slot_, *t));
  if (st != OEMLINK_OK && tickets_.find(ref)) {
    tickets_.release(t);
    sched_.stream_ended(c, false, sched_now());
    spdlog::warn("connection {} (driver {}): stream did not start; retrying with back-off", r.id,
                 d.name);
    schedule_dispatch();
  }
}

void Runtime::on_stream_ended(TicketRef ref, oemlink_status status, std::string_view message) {
  if (on_loop()) {
    finish_stream(ref, status, std::string(message));
    return;
  }
  boost::asio::post(
      io_, [this, ref, status, msg = std::string(message)] { finish_stream(ref, status, msg); });
}

void Runtime::finish_stream(TicketRef ref, oemlink_status status, const std::string& message) {
  Ticket* t = tickets_.find(ref);
  if (!t || !t->stream) {
    late_completions_.add();
    return;
  }
  DriverInstance& d = *drivers_[t->instance];
  int64_t now = sched_now();
  // A stream that ran a while before failing restarts quickly; one that dies at once backs off.
  bool long_run = now - t->started_ms > 60'000;
  uint32_t c = t->conn;
  bool current = c == kNoConn || sched_.poll_seq(c) == t->seq;
  tickets_.release(t);
  if (stopping_ || !current) return;
  stream_restarts_.add();
  if (c == kNoConn) {  // the driver-wide stream
    d.stream_up = false;
    d.stream_failures = long_run ? 1 : static_cast<uint8_t>(std::min(d.stream_failures + 1, 30));
    int64_t delay = std::min<int64_t>(cfg_.schedule.max_backoff.count(),
                                      1000LL << std::min<int>(d.stream_failures - 1, 20));
    spdlog::warn("driver {}: stream ended ({}: {}); restarting in {} ms", d.name,
                 status_name(status), message, delay);
    d.stream_restart->expires_after(std::chrono::milliseconds(delay));
    d.stream_restart->async_wait([this, &d](const boost::system::error_code& ec) {
      if (!ec && !stopping_) start_driver_stream(d);
    });
    return;
  }
  sched_.stream_ended(c, long_run, now);
  uint64_t suppressed = 0;
  if (poll_log_.allow(now, suppressed))
    spdlog::warn("connection {} (driver {}): stream ended ({}: {}); restart in {} ms", conns_[c].id,
                 d.name, status_name(status), message,
                 sched_.phase(c) == schedule::Phase::waiting ? sched_.due(c) - now : -1);
  schedule_dispatch();
}

void Runtime::start_driver_stream(DriverInstance& d) {
  if (!d.stream_restart) d.stream_restart = std::make_unique<boost::asio::steady_timer>(io_);
  Ticket* t = issue_ticket(kNoConn, d.index, true);
  TicketRef ref{slot_, t->self - 1, t->generation & 0xFFFFFFu};
  d.stream_up = true;
  oemlink_status st = d.d->stream_start(d.inst, nullptr, nullptr, &stream_ended_trampoline,
                                        encode_ticket(slot_, *t));
  if (st != OEMLINK_OK && tickets_.find(ref)) finish_stream(ref, st, "stream did not start");
}

// The host stopped a stream itself (shutdown, dead tokens): after stream_stop returns the driver
// will not call `ended`, so the stream's ticket is released here.
void Runtime::stop_stream(uint32_t c) {
  DriverInstance& d = *drivers_[conns_[c].instance];
  d.d->stream_stop(d.inst, handle_of(c), conns_[c].driver_ctx);
  tickets_.for_each_live([&](Ticket* t) {
    if (t->stream && t->conn == c) tickets_.release(t);
  });
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

void Runtime::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping: no new polls; waiting up to {} ms for {} in flight",
               cfg_.schedule.shutdown_timeout.count(), tickets_.live());
  sched_timer_.cancel();
  stats_timer_.cancel();
  flush_timer_.cancel();
  duration_timer_.cancel();
  watchdog_timer_.cancel();
  status_timer_.cancel();
  io_.stop();
}

std::vector<size_t> Runtime::outstanding_by_driver() {
  std::vector<size_t> n(drivers_.size());
  tickets_.for_each_live([&](Ticket* t) {
    if (!t->stream) n[t->instance]++;  // abandoned polls too: the driver may still finish them
  });
  return n;
}

void Runtime::drain_and_close() {
  // Streams stop first: after stream_stop returns, the driver will not call `ended`.
  for (uint32_t c = 0; c < conns_.size(); ++c) {
    if (sched_.phase(c) == schedule::Phase::streaming && sched_.is_stream(c) && conns_[c].open)
      stop_stream(c);
  }
  for (auto& d : drivers_) {
    if (d->stream_restart) d->stream_restart->cancel();
    if (d->inst && d->stream_up) {
      d->d->stream_stop(d->inst, nullptr, nullptr);
      d->stream_up = false;
      tickets_.for_each_live([&](Ticket* t) {
        if (t->stream && t->conn == kNoConn && t->instance == d->index) tickets_.release(t);
      });
    }
  }

  // Let in-flight polls finish, bounded by shutdown_timeout (a second signal cuts it short).
  auto in_flight = [this] {
    size_t n = 0;
    for (size_t k : outstanding_by_driver()) n += k;
    return n;
  };
  auto deadline = Clock::now() + cfg_.schedule.shutdown_timeout;
  auto guard = boost::asio::make_work_guard(io_);  // run_for waits instead of spinning
  io_.restart();
  while (in_flight() > 0 && Clock::now() < deadline && signals_seen_ < 2) {
    io_.run_for(std::chrono::milliseconds(20));
    io_.restart();
  }
  guard.reset();
  close_everything(in_flight() > 0);
  log_stats();
  spdlog::info("stopped");
}

void Runtime::close_everything(bool abandoned_any) {
  closed_ = true;
  std::vector<size_t> outstanding = outstanding_by_driver();
  if (abandoned_any) {
    for (auto& d : drivers_)
      if (outstanding[d->index])
        spdlog::warn(
            "shutdown: driver {} still has {} polls in flight after {} ms; it is not closed",
            d->name, outstanding[d->index], cfg_.schedule.shutdown_timeout.count());
  }
  // Transport and timers next, so every driver callback fires before close/destroy. After
  // closed_ is set, new timers and requests are refused, so this terminates.
  if (http_) http_->shutdown();
  for (auto& [id, t] : timers_) t->timer.cancel();
  for (int i = 0; i < 100 && !timers_.empty(); ++i) {
    io_.restart();
    io_.poll();
  }
  io_.restart();
  io_.poll();

  for (uint32_t c = 0; c < conns_.size(); ++c) {
    ConnectionRecord& r = conns_[c];
    if (!r.open) continue;
    DriverInstance& d = *drivers_[r.instance];
    if (outstanding[d.index]) continue;
    r.open = false;
    d.d->close(d.inst, handle_of(c), r.driver_ctx);
  }
  for (auto& d : drivers_) {
    if (!d->inst || outstanding[d->index]) continue;
    d->d->destroy(d->inst);
    d->inst = nullptr;
  }
  if (signing_) {
    signing_->stop_retrying();
    signing_->drain();
  }
  release_parked();
  if (pipeline_) pipeline_->flush();
  // Everything accepted is made durable before the sinks let go; what they have not delivered
  // stays in the outbox for the next start.
  if (outbox_) outbox_->flush();
  for (auto& d : dispatchers_) d->stop();
  if (stopping_) write_status(false);
}

void Runtime::log_stats() {
  const auto& s = sched_.stats();
  size_t stopped = 0;
  for (uint32_t c = 0; c < conns_.size(); ++c)
    if (sched_.phase(c) == schedule::Phase::stopped) ++stopped;
  spdlog::info(
      "stats: polls ok={} retry={} error={}; events={}; readings accepted={} rejected={}; "
      "rate-limited={} asleep={}; connections={} stopped={}; in flight={}",
      polls_ok_.value(), polls_retry_.value(), polls_error_.value(),
      metrics_.counter("pipeline_events_built").value(),
      metrics_.counter("pipeline_readings_accepted").value(),
      metrics_.counter("pipeline_readings_rejected").value(), s.rate_limited, s.asleep,
      conns_.size(), stopped, tickets_.live());
  if (!outbox_) return;
  store::OutboxStats o = outbox_->stats();
  int64_t age_s = o.oldest_ms ? (now_ms() - o.oldest_ms) / 1000 : 0;
  spdlog::info(
      "outbox: depth={} ({} KiB), oldest {} s; appended={} dropped={} refused={} "
      "corrupt={} dead letters={}",
      o.depth, o.bytes / 1024, age_s, o.appended, o.dropped, o.refused, o.corrupt, o.dead_letters);
  for (auto& d : dispatchers_) {
    uplink::DispatcherStats ds = d->stats();
    spdlog::info(
        "sink {}: delivered={} retried={} dead-lettered={} in flight={} pending={}; "
        "append to acknowledgement p50 {} ms, p99 {} ms",
        d->name(), ds.delivered, ds.retried, ds.dead_lettered, ds.in_flight, ds.pending,
        ds.latency_p50_ms, ds.latency_p99_ms);
  }
}

// status.json in the data dir: what `oemlink status` shows, written atomically every few seconds
// and once more at exit.
void Runtime::write_status(bool running) {
  boost::json::object st;
  st["pid"] = static_cast<int64_t>(getpid());
  st["running"] = running;
  st["updated_ms"] = now_ms();
  st["connections"] = conns_.size();
  boost::json::object counters;
  for (auto& [name, value] : metrics_.snapshot()) counters[name] = value;
  st["counters"] = std::move(counters);
  if (outbox_) {
    store::OutboxStats o = outbox_->stats();
    st["outbox"] = {{"depth", o.depth},
                    {"bytes", o.bytes},
                    {"oldest_ms", o.oldest_ms},
                    {"appended", o.appended},
                    {"dropped", o.dropped},
                    {"refused", o.refused},
                    {"corrupt", o.corrupt},
                    {"dead_letters", o.dead_letters},
                    {"durable_seq", o.durable_seq}};
    boost::json::array sinks;
    for (auto& d : dispatchers_) {
      uplink::DispatcherStats ds = d->stats();
      sinks.push_back({{"name", d->name()},
                       {"delivered", ds.delivered},
                       {"retried", ds.retried},
                       {"dead_lettered", ds.dead_lettered},
                       {"in_flight", ds.in_flight},
                       {"pending", ds.pending},
                       {"latency_p50_ms", ds.latency_p50_ms},
                       {"latency_p99_ms", ds.latency_p99_ms}});
    }
    st["sinks"] = std::move(sinks);
  }
  std::string text = boost::json::serialize(st);
  std::filesystem::path final_path = DataDir(cfg_.data_dir).status_json();
  std::filesystem::path tmp = cfg_.data_dir / "status.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
    if (!out) return;  // a full disk shows up in the sinks' own errors
  }
  std::error_code ec;
  std::filesystem::rename(tmp, final_path, ec);
}

void Runtime::note_slow_call(DriverInstance& d, const char* what, uint32_t c,
                             Clock::duration took) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took);
  if (ms < cfg_.schedule.slow_call_warning) return;
  slow_calls_.add();
  uint64_t suppressed = 0;
  if (slow_log_.allow(now_ms(), suppressed))
    spdlog::warn("driver {}: {} took {} ms{} (driver calls must not block)", d.name, what,
                 ms.count(), c == kNoConn ? "" : " for connection " + conns_[c].id);
}

// ---------------------------------------------------------------------------------------------
// Host services
// ---------------------------------------------------------------------------------------------

uint32_t Runtime::conn_index(oemlink_conn* conn) const {
  auto v = reinterpret_cast<uintptr_t>(conn);
  if (v == 0 || v > conns_.size()) return kNoConn;
  return static_cast<uint32_t>(v - 1);
}

void Runtime::svc_log(DriverInstance& d, oemlink_conn* conn, oemlink_log_level level,
                      std::string_view msg) {
  auto lvl = level <= OEMLINK_LOG_TRACE   ? spdlog::level::trace
             : level == OEMLINK_LOG_DEBUG ? spdlog::level::debug
             : level == OEMLINK_LOG_INFO  ? spdlog::level::info
             : level == OEMLINK_LOG_WARN  ? spdlog::level::warn
                                          : spdlog::level::err;
  if (!spdlog::should_log(lvl)) return;
  uint32_t c = conn_index(conn);
  if (c == kNoConn)
    spdlog::log(lvl, "[{}] {}", d.name, msg);
  else
    spdlog::log(lvl, "[{}] connection {}: {}", d.name, conns_[c].id, msg);
}

// The handle must name an open connection of this very driver instance: a stale or foreign
// handle (a bug, or a driver probing) must not reach another driver's data.
uint32_t Runtime::own_connection(DriverInstance& d, oemlink_conn* conn, const char* what) {
  uint32_t c = conn_index(conn);
  if (c == kNoConn || conns_[c].instance != d.index || !conns_[c].open) {
    uint64_t suppressed = 0;
    if (misuse_log_.allow(sched_now(), suppressed))
      spdlog::error("driver {}: {} for an unknown or closed connection handle", d.name, what);
    metrics_.counter("driver_bad_handles").add();
    return kNoConn;
  }
  return c;
}

oemlink_status Runtime::svc_emit(DriverInstance& d, oemlink_conn* conn,
                                 const oemlink_reading* readings, size_t count) {
  uint32_t c = own_connection(d, conn, "emit");
  if (c == kNoConn) {
    metrics_.counter("pipeline_readings_rejected").add(count);
    return OEMLINK_ERROR;
  }
  if (count == 0) return OEMLINK_OK;
  if (!readings) return OEMLINK_ERROR;
  // The array's stride is the driver's struct size: a driver built against a newer minor ABI
  // may have appended fields. Copy each into the host's layout.
  size_t stride = readings[0].struct_size;
  constexpr size_t kV1Size = offsetof(oemlink_reading, hdop) + sizeof(double);
  if (stride < kV1Size) {
    metrics_.counter("pipeline_readings_rejected").add(count);
    spdlog::error("driver {}: emit with reading struct_size {} < {}; {} readings rejected", d.name,
                  stride, kV1Size, count);
    return OEMLINK_ERROR;
  }
  std::span<const oemlink_reading> batch(readings, count);
  std::vector<oemlink_reading> copied;
  if (stride != sizeof(oemlink_reading)) {
    copied.resize(count);
    auto* base = reinterpret_cast<const unsigned char*>(readings);
    for (size_t i = 0; i < count; ++i) {
      std::memcpy(&copied[i], base + i * stride, std::min(stride, sizeof(oemlink_reading)));
      copied[i].struct_size = sizeof(oemlink_reading);
    }
    batch = copied;
  }
  const ConnectionRecord& r = conns_[c];
  pipeline::ConnectionIdentity id{.id = r.id,
                                  .vin = r.vin,
                                  .vehicle_token_id = r.vehicle_token_id,
                                  .synthetic_token_id = r.synthetic_token_id,
                                  .key_child = r.key_child};
  // Counted before the hand-over, so a completion that races the signing stage still waits.
  signing_pending_[c].fetch_add(1);
  auto submitted = signing_->submit(c, id, batch, now_ms());
  if (!submitted.queued) signing_pending_[c].fetch_sub(1);
  return submitted.status;
}

void Runtime::svc_report_state(DriverInstance& d, oemlink_conn* conn, oemlink_conn_state state,
                               int64_t until_ms, std::string_view reason) {
  if (on_loop()) {
    uint32_t c = own_connection(d, conn, "report_state");
    if (c != kNoConn) apply_state(c, state, until_ms, std::string(reason));
    return;
  }
  boost::asio::post(io_, [this, &d, conn, state, until_ms, r = std::string(reason)] {
    uint32_t c = own_connection(d, conn, "report_state");
    if (c != kNoConn) apply_state(c, state, until_ms, r);
  });
}

void Runtime::apply_state(uint32_t c, oemlink_conn_state state, int64_t until_ms,
                          const std::string& reason) {
  using RS = schedule::ReportedState;
  const ConnectionRecord& r = conns_[c];
  const std::string& driver = drivers_[r.instance]->name;
  RS rs;
  switch (state) {
    case OEMLINK_STATE_OK:
      rs = RS::ok;
      break;
    case OEMLINK_STATE_ASLEEP:
      rs = RS::asleep;
      break;
    case OEMLINK_STATE_RATE_LIMITED:
      rs = RS::rate_limited;
      break;
    case OEMLINK_STATE_NEEDS_REAUTH:
      rs = RS::needs_reauth;
      break;
    case OEMLINK_STATE_FAILED:
      rs = RS::failed;
      break;
    default:
      // A state from a newer ABI minor: stopping the car for it would be worse than ignoring it.
      spdlog::warn("connection {} (driver {}): unknown state {} ignored", r.id, driver, state);
      return;
  }
  // Drivers speak wall-clock Unix ms; the schedule runs on the steady clock.
  int64_t wall = now_ms(), now = sched_now();
  int64_t until = 0;
  if (rs == RS::rate_limited && until_ms > 0) {
    int64_t wait = std::clamp<int64_t>(until_ms - wall, 0, kMaxRateLimitMs);
    if (until_ms - wall > kMaxRateLimitMs)
      spdlog::warn(
          "connection {} (driver {}): rate limit until {} ms is more than 30 days away; "
          "capped at 30 days",
          r.id, driver, until_ms);
    until = now + wait;
  }
  auto before = sched_.phase(c);
  sched_.report(c, rs, until, now);
  switch (rs) {
    case RS::needs_reauth:
      metrics_.counter("connections_needs_reauth").add();
      spdlog::warn(
          "connection {} (driver {}): needs re-authentication ({}); polling stopped "
          "until the owner links the car again",
          r.id, driver, reason.empty() ? "no reason given" : reason);
      break;
    case RS::failed:
      metrics_.counter("connections_failed").add();
      spdlog::error("connection {} (driver {}): failed permanently ({}); polling stopped", r.id,
                    driver, reason.empty() ? "no reason given" : reason);
      break;
    case RS::rate_limited:
      metrics_.counter("connections_rate_limited").add();
      spdlog::info("connection {} (driver {}): rate-limited for {} s ({})", r.id, driver,
                   until ? (until - now) / 1000 : -1, reason);
      break;
    case RS::asleep:
      spdlog::debug("connection {} (driver {}): asleep", r.id, driver);
      break;
    case RS::ok:
      break;
  }
  // A running per-connection stream whose tokens died is stopped — from the loop, not from
  // inside whatever driver call reported it, so calls for one connection never nest.
  if (before == schedule::Phase::streaming && sched_.phase(c) == schedule::Phase::stopped &&
      sched_.is_stream(c)) {
    boost::asio::post(io_, [this, c] {
      if (!closed_ && conns_[c].open) stop_stream(c);
    });
  }
  schedule_dispatch();
}

oemlink_status Runtime::svc_http(DriverInstance& d, oemlink_conn* conn,
                                 const oemlink_http_request* req, oemlink_http_done_fn done,
                                 void* ctx) {
  constexpr size_t kV1Size = offsetof(oemlink_http_request, timeout_ms) + sizeof(uint32_t);
  if (!req || !done || req->struct_size < kV1Size || view(req->url).empty() ||
      view(req->method).empty() || (req->header_count && !req->headers)) {
    spdlog::error(
        "driver {}: malformed http_request (struct_size, url, method, headers or "
        "callback missing)",
        d.name);
    return OEMLINK_ERROR;
  }
  if (closed_) return OEMLINK_ERROR;  // shutting down: nothing new may start
  if (conn && own_connection(d, conn, "http_request") == kNoConn) return OEMLINK_ERROR;
  net::HttpRequest r;
  r.method = std::string(view(req->method));
  r.url = std::string(view(req->url));
  for (size_t i = 0; i < req->header_count; ++i)
    r.headers.emplace_back(std::string(view(req->headers[i].name)),
                           std::string(view(req->headers[i].value)));
  r.body = std::string(view(req->body));
  r.timeout = std::chrono::milliseconds(req->timeout_ms);
  metrics_.counter(d.name + "_http_requests").add();
  http_->request(std::move(r), [done, ctx](net::HttpResponse&& resp) {
    std::vector<oemlink_http_header> hs;
    hs.reserve(resp.headers.size());
    for (auto& [k, v] : resp.headers) hs.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
    oemlink_http_response out{};
    out.struct_size = sizeof out;
    out.status = resp.transport_ok ? OEMLINK_OK : OEMLINK_RETRY;
    out.http_status = static_cast<int32_t>(resp.status);
    out.headers = hs.data();
    out.header_count = hs.size();
    out.body = {resp.body.data(), resp.body.size()};
    out.error = {resp.error.data(), resp.error.size()};
    done(ctx, &out);
  });
  return OEMLINK_OK;
}

store::SecretStore* Runtime::secrets() {
  std::lock_guard lock(secrets_mu_);
  if (!secrets_) {
    // Opened on first use, so deployments whose drivers keep no secrets create no key file.
    // Like the outbox, the store's data key is sealed under the deployment's KEK: a copied data
    // dir reveals no OAuth token without it.
    auto key = open_sealed_data_key(cfg_, DataKeyPurpose::secrets);
    secrets_ = std::make_unique<store::SecretStore>(DataDir(cfg_.data_dir).secrets_db(), key);
    secure_wipe(key);
  }
  return secrets_.get();
}

// Secrets are namespaced by owner: "conn:<id>" for a connection, "driver:<name>" for
// instance-wide ones, so no connection id can collide with a driver's namespace.
bool Runtime::secret_owner(DriverInstance& d, oemlink_conn* conn, std::string& owner) {
  if (!conn) {
    owner = "driver:" + d.name;
    return true;
  }
  uint32_t c = own_connection(d, conn, "secret access");
  if (c == kNoConn) return false;
  owner = "conn:" + conns_[c].id;
  return true;
}

oemlink_status Runtime::svc_secret_get(DriverInstance& d, oemlink_conn* conn, std::string_view key,
                                       char* buf, size_t cap, size_t* size) {
  if (size) *size = 0;
  std::string owner;
  if (!secret_owner(d, conn, owner)) return OEMLINK_ERROR;
  try {
    auto v = secrets()->get(owner, key);
    if (!v) return OEMLINK_ERROR;
    if (size) *size = v->size();
    oemlink_status st = OEMLINK_RETRY;
    if (buf && cap >= v->size()) {
      std::memcpy(buf, v->data(), v->size());
      st = OEMLINK_OK;
    }
    secure_wipe(v->data(), v->size());
    return st;
  } catch (const std::exception& e) {
    // The message names the store, never the value.
    spdlog::error("driver {}: secret_get for {} failed: {}", d.name, owner, e.what());
    return OEMLINK_ERROR;
  }
}

oemlink_status Runtime::svc_secret_put(DriverInstance& d, oemlink_conn* conn,
                                       const oemlink_str* keys, const oemlink_str* values,
                                       size_t count) {
  std::string owner;
  if (!secret_owner(d, conn, owner)) return OEMLINK_ERROR;
  if (count && (!keys || !values)) return OEMLINK_ERROR;
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  kv.reserve(count);
  for (size_t i = 0; i < count; ++i) kv.emplace_back(view(keys[i]), view(values[i]));
  try {
    secrets()->put(owner, kv);
    return OEMLINK_OK;
  } catch (const std::exception& e) {
    spdlog::error("driver {}: secret_put for {} failed: {}", d.name, owner, e.what());
    return OEMLINK_ERROR;
  }
}

uint64_t Runtime::svc_timer_start(DriverInstance&, uint32_t delay_ms, oemlink_timer_fn fn,
                                  void* ctx) {
  // After shutdown drained the timers, a new one could never fire or be cancelled: refuse it.
  if (!fn || closed_) return 0;
  uint64_t id = next_timer_id_.fetch_add(1);
  auto arm = [this, id, delay_ms, fn, ctx] {
    if (closed_) {
      fn(ctx, 1);
      return;
    }
    auto t = std::make_unique<DriverTimer>(io_);
    t->fn = fn;
    t->ctx = ctx;
    t->timer.expires_after(std::chrono::milliseconds(delay_ms));
    t->timer.async_wait([this, id](const boost::system::error_code& ec) {
      auto it = timers_.find(id);
      if (it == timers_.end()) return;
      auto timer = std::move(it->second);
      timers_.erase(it);
      timer->fn(timer->ctx, ec ? 1 : 0);
    });
    timers_.emplace(id, std::move(t));
  };
  if (on_loop())
    arm();
  else
    boost::asio::post(io_, arm);
  return id;
}

void Runtime::svc_timer_cancel(uint64_t id) {
  auto cancel = [this, id] {
    auto it = timers_.find(id);
    if (it != timers_.end()) it->second->timer.cancel();
  };
  if (on_loop())
    cancel();
  else
    boost::asio::post(io_, cancel);
}

void Runtime::svc_counter_add(DriverInstance& d, std::string_view name, uint64_t delta) {
  metrics_.counter(d.name + "_" + std::string(name)).add(delta);
}

}  // namespace oemlink::host
