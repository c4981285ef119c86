// RemoteInstance: the host side of a driver in its own process. Calls into the driver travel
// as frames; the process's life (start, re-open of its cars, reap, restart with back-off) is
// here too. The C descriptor that fronts it is remote_driver.cpp; the services the child calls
// back, remote_services.cpp.
#include "core/isolation/remote_instance.hpp"

#include "core/common/abi_text.hpp"
#include "core/isolation/abi_codec.hpp"
#include "core/isolation/child_process.hpp"
#include "core/isolation/message_kind.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>

namespace oemlink::isolation {
namespace {

uint64_t conn_id(oemlink_conn* c) {
  return reinterpret_cast<uintptr_t>(c);
}

int64_t host_now(const oemlink_host* h) {
  return h->now_unix_ms ? h->now_unix_ms(h) : 0;
}

struct RestartCtx {
  std::shared_ptr<RemoteInstance> state;
};

void OEMLINK_CALL restart_fired(void* ctx, int32_t cancelled) {
  std::unique_ptr<RestartCtx> r(static_cast<RestartCtx*>(ctx));
  if (!cancelled) r->state->restart();
}

}  // namespace

void answer_unavailable(oemlink_webhook_respond_fn respond, void* ctx) {
  static const oemlink_http_header kRetryAfter[] = {{{"Retry-After", 11}, {"5", 1}},
                                                    {{"Content-Type", 12}, {"text/plain", 10}}};
  static constexpr std::string_view kBody = "driver restarting\n";
  oemlink_http_response a{};
  a.struct_size = sizeof a;
  a.status = OEMLINK_OK;
  a.http_status = 503;
  a.headers = kRetryAfter;
  a.header_count = 2;
  a.body = {kBody.data(), kBody.size()};
  respond(ctx, &a);
}

// --- RemoteInstance: calls into the driver and the process's life --------------------------

RemoteInstance::RemoteInstance(RemoteDriverOptions options, const oemlink_host* host,
                               std::string settings_json)
    : opts_(std::move(options)),
      host_(host),
      settings_(std::move(settings_json)),
      next_delay_(opts_.first_restart_delay) {
  if (host_->get_service) {
    if (const auto* w = static_cast<const oemlink_webhook_url_service*>(
            host_->get_service(host_, OEMLINK_SERVICE_WEBHOOK_URL))) {
      std::string url(2048, '\0');
      size_t size = 0;
      if (w->webhook_url(host_, url.data(), url.size(), &size) == OEMLINK_OK) {
        url.resize(size);
        webhook_url_ = url;
        has_webhook_url_ = true;
      }
    }
    mqtt_ =
        static_cast<const oemlink_mqtt_service*>(host_->get_service(host_, OEMLINK_SERVICE_MQTT));
  }
  link_table = remote_link_table();
}

RemoteInstance::~RemoteInstance() {
  std::vector<std::shared_ptr<ChildRun>> runs = std::move(ended_);
  if (child_) runs.push_back(std::move(child_));
  for (auto& run : runs) {
    if (!run->channel || run->channel->finished()) continue;
    std::thread([run] {
      while (!run->channel->finished()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }).detach();
  }
}

std::shared_ptr<ChildRun> RemoteInstance::current() const {
  std::lock_guard lk(mu_);
  return child_;
}

long RemoteInstance::pid() const {
  auto c = current();
  return c ? static_cast<long>(c->pid) : -1;
}

std::optional<ReplyFrame> RemoteInstance::call_child(const std::shared_ptr<ChildRun>& run,
                                                     FrameWriter& w, const char* what) {
  auto a = run->channel->call(w, opts_.call_timeout);
  if (!a && !run->channel->closed()) {
    spdlog::error("driver {}: its process (pid {}) did not answer {} within {} ms; ending it",
                  opts_.name, run->pid, what, opts_.call_timeout.count());
    kill_run(*run);
  }
  return a;
}

template <class Read>
bool RemoteInstance::read_reply(const std::shared_ptr<ChildRun>& run, const ReplyFrame& reply,
                                const char* what, Read&& read) {
  try {
    FrameReader r = reply.reader();
    read(r);
    r.done();
    return true;
  } catch (const FrameError& e) {
    spdlog::error(
        "driver {}: its process (pid {}) answered {} with a malformed frame ({}); ending it",
        opts_.name, run->pid, what, e.what());
    kill_run(*run);
    return false;
  }
}

bool RemoteInstance::start_child(std::string& error) {
  release_finished_runs();
  auto run = std::make_shared<ChildRun>();
  try {
    SpawnedChild s = spawn_driver_process(opts_.program, opts_.name, opts_.library);
    run->pid = s.pid;
    const oemlink_host* h = host_;
    run->channel = std::make_unique<DriverChannel>(s.channel_fd, [h] { return host_now(h); });
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
  run->started = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    run->generation = ++generation_;
  }
  std::weak_ptr<RemoteInstance> weak = weak_from_this();
  std::weak_ptr<ChildRun> weak_run = run;
  run->channel->start(
      [weak, weak_run](FrameReader& r) {
        auto self = weak.lock();
        auto cr = weak_run.lock();
        if (self && cr) self->on_child_frame(cr, r);
      },
      [weak, weak_run](const std::string& why) {
        auto self = weak.lock();
        auto cr = weak_run.lock();
        if (self && cr) self->on_child_lost(cr, why);
      });

  FrameWriter w(kCreate, run->channel->new_call_id());
  w.str(settings_).u8(has_webhook_url_ ? 1 : 0).str(webhook_url_).u8(mqtt_ ? 1 : 0);
  {
    std::lock_guard lk(mu_);
    child_ = run;  // so that what create asks of the host (secrets, timers) is served
  }
  auto a = call_child(run, w, "create");
  oemlink_status st = OEMLINK_ERROR;
  std::string msg;
  bool answered = a && read_reply(run, *a, "create", [&](FrameReader& r) {
                    oemlink_status s = r.i32();
                    std::string m(r.str());
                    uint32_t flags = r.u32();
                    r.done();  // before anything is kept: bytes to spare are no success
                    st = s;
                    msg = std::move(m);
                    link_flags_.store(flags);
                  });
  if (st != OEMLINK_OK) {
    {
      std::lock_guard lk(mu_);
      if (child_ == run) child_ = nullptr;  // its loss, if not yet seen, is then ignored
      ended_.push_back(run);
    }
    run->channel->close();
    std::string how = reap(*run, std::chrono::milliseconds(2000));
    error =
        answered ? (msg.empty() ? std::string("(no message)") : msg)
        : a ? "its process (" + opts_.program.string() + ") answered create with a malformed frame"
            : "its process (" + opts_.program.string() + ") " + how +
                  " before create answered (its own line on stderr says why)";
    return false;
  }
  {
    std::lock_guard lk(mu_);
    live_ = true;
  }
  link_table.flags = link_flags_.load() >> 8;
  return true;
}

void RemoteInstance::destroy() {
  std::shared_ptr<ChildRun> run;
  {
    std::lock_guard lk(mu_);
    destroying_ = true;
    run = child_;
  }
  if (run) {
    FrameWriter w(kDestroy, run->channel->new_call_id());
    call_child(run, w, "destroy");
    run->channel->close();
    std::string how = reap(*run, std::chrono::milliseconds(5000));
    spdlog::debug("driver {}: its process (pid {}) {}", opts_.name, run->pid, how);
  }
  fail_everything_owed("the driver was destroyed");
  {
    std::lock_guard lk(mu_);
    if (child_) ended_.push_back(std::move(child_));
  }
  // A loss still being handled on a reader thread (its reap waits up to 2 s) calls the host's
  // table, which the host may free once this returns: wait for it, within a bound.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    bool all_finished;
    {
      std::lock_guard lk(mu_);
      all_finished = std::all_of(ended_.begin(), ended_.end(),
                                 [](const auto& r) { return r->channel->finished(); });
    }
    if (all_finished || std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  release_finished_runs();
}

void RemoteInstance::release_finished_runs() {
  std::vector<std::shared_ptr<ChildRun>> done;
  {
    std::lock_guard lk(mu_);
    for (auto it = ended_.begin(); it != ended_.end();)
      if ((*it)->channel->finished()) {
        done.push_back(std::move(*it));
        it = ended_.erase(it);
      } else {
        ++it;
      }
  }
}

bool RemoteInstance::open_in(const std::shared_ptr<ChildRun>& run, uint64_t conn,
                             const OpenConnection& c, std::string& error) {
  FrameWriter w(kOpen, run->channel->new_call_id());
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = {c.id.data(), c.id.size()};
  info.vin = {c.vin.data(), c.vin.size()};
  info.identifiers_json = {c.identifiers_json.data(), c.identifiers_json.size()};
  info.vehicle_token_id = c.vehicle_token_id;
  info.synthetic_token_id = c.synthetic_token_id;
  w.u64(conn);
  put_conn_info(w, info);
  auto a = call_child(run, w, "open");
  if (!a) {
    error = "";  // the process is gone; the next one opens it
    return false;
  }
  oemlink_status st = OEMLINK_ERROR;
  if (!read_reply(run, *a, "open", [&](FrameReader& r) {
        st = r.i32();
        error = std::string(r.str());
      })) {
    error = "";  // the process is being ended; the next one opens it
    return false;
  }
  if (st == OEMLINK_OK) return true;
  if (error.empty()) error = "(no message)";
  return false;
}

oemlink_status RemoteInstance::open(oemlink_conn* conn, const oemlink_conn_info* info, char* err,
                                    size_t cap) {
  OpenConnection c;
  c.id = std::string(abi_view(info->id));
  c.vin = std::string(abi_view(info->vin));
  c.identifiers_json = std::string(abi_view(info->identifiers_json));
  c.vehicle_token_id = info->vehicle_token_id;
  c.synthetic_token_id = info->synthetic_token_id;
  std::shared_ptr<ChildRun> run;
  {
    std::lock_guard lk(mu_);
    conns_[conn_id(conn)] = c;
    run = child_;
  }
  if (!run) return OEMLINK_OK;  // opened by the next process
  std::string error;
  bool ok = open_in(run, conn_id(conn), c, error);
  std::lock_guard lk(mu_);
  if (ok) {
    // Only while that process is still the current one: if it was lost after answering, its
    // loss has already marked every connection closed, and the next process must open this one.
    if (auto it = conns_.find(conn_id(conn)); it != conns_.end() && child_ == run)
      it->second.open_in_child = true;
    return OEMLINK_OK;
  }
  if (error.empty()) return OEMLINK_OK;  // lost with its process: the next one opens it
  conns_.erase(conn_id(conn));
  copy_abi_text(err, cap, error);
  return OEMLINK_ERROR;
}

void RemoteInstance::close(oemlink_conn* conn) {
  std::shared_ptr<ChildRun> run;
  {
    std::lock_guard lk(mu_);
    auto it = conns_.find(conn_id(conn));
    if (it == conns_.end()) return;
    if (it->second.open_in_child) run = child_;
    conns_.erase(it);
  }
  if (!run) return;
  FrameWriter w(kClose, run->channel->new_call_id());
  w.u64(conn_id(conn));
  call_child(run, w, "close");
}

uint64_t RemoteInstance::expect(std::unordered_map<uint64_t, Completion>& in, Completion c) {
  uint64_t token = next_token_++;
  in.emplace(token, c);
  return token;
}

std::optional<Completion> RemoteInstance::take(std::unordered_map<uint64_t, Completion>& in,
                                               uint64_t token) {
  std::lock_guard lk(mu_);
  auto it = in.find(token);
  if (it == in.end()) return std::nullopt;
  Completion c = it->second;
  in.erase(it);
  return c;
}

oemlink_status RemoteInstance::poll(oemlink_conn* conn, oemlink_poll_done_fn done, void* ctx) {
  std::shared_ptr<ChildRun> run;
  uint64_t token = 0;
  {
    std::lock_guard lk(mu_);
    auto it = conns_.find(conn_id(conn));
    if (child_ && it != conns_.end() && it->second.open_in_child) {
      run = child_;
      token = expect(polls_, {reinterpret_cast<void*>(done), ctx, conn_id(conn)});
    }
  }
  if (!run) {
    // Being restarted (or this car not re-opened yet): a retry the operator can read; the
    // scheduler backs off.
    static constexpr std::string_view kWhy = "the driver's process is being restarted";
    done(ctx, OEMLINK_RETRY, {kWhy.data(), kWhy.size()});
    return OEMLINK_OK;
  }
  FrameWriter w(kPoll, 0);
  w.u64(conn_id(conn)).u64(token);
  if (run->channel->send(w)) return OEMLINK_OK;
  // Refused only if the loss of the process has not already completed it.
  return take(polls_, token) ? OEMLINK_RETRY : OEMLINK_OK;
}

oemlink_status RemoteInstance::start_owed(std::unordered_map<uint64_t, Completion>& in,
                                          Completion c, uint16_t kind, const char* what,
                                          const std::function<void(FrameWriter&, uint64_t)>& fill) {
  std::shared_ptr<ChildRun> run;
  uint64_t token;
  {
    std::lock_guard lk(mu_);
    if (!child_) return OEMLINK_RETRY;
    run = child_;
    token = expect(in, c);
  }
  FrameWriter w(kind, run->channel->new_call_id());
  fill(w, token);
  auto a = call_child(run, w, what);
  oemlink_status st = OEMLINK_RETRY;
  if (a && !read_reply(run, *a, what, [&](FrameReader& r) { st = r.i32(); })) st = OEMLINK_RETRY;
  if (st == OEMLINK_OK) return OEMLINK_OK;
  // The completion is owed only for a start that returns OK: if the loss of the process already
  // delivered it, this start must count as one.
  return take(in, token) ? st : OEMLINK_OK;
}

oemlink_status RemoteInstance::stream_start(oemlink_conn* conn, oemlink_stream_ended_fn ended,
                                            void* ctx) {
  return start_owed(streams_, {reinterpret_cast<void*>(ended), ctx, conn_id(conn)}, kStreamStart,
                    "stream_start",
                    [&](FrameWriter& w, uint64_t token) { w.u64(conn_id(conn)).u64(token); });
}

void RemoteInstance::stream_stop(oemlink_conn* conn) {
  std::shared_ptr<ChildRun> run;
  {
    std::lock_guard lk(mu_);
    for (auto it = streams_.begin(); it != streams_.end();)
      it = it->second.conn == conn_id(conn) ? streams_.erase(it) : std::next(it);
    run = child_;
  }
  if (!run) return;
  FrameWriter w(kStreamStop, run->channel->new_call_id());
  w.u64(conn_id(conn));
  call_child(run, w, "stream_stop");
}

oemlink_status RemoteInstance::webhook(const oemlink_http_request* request,
                                       oemlink_webhook_respond_fn respond, void* ctx) {
  std::shared_ptr<ChildRun> run;
  uint64_t token = 0;
  {
    std::lock_guard lk(mu_);
    run = child_;
    if (run) token = expect(webhooks_, {reinterpret_cast<void*>(respond), ctx, 0});
  }
  if (!run) {
    answer_unavailable(respond, ctx);
    return OEMLINK_OK;
  }
  FrameWriter w(kWebhook, run->channel->new_call_id());
  put_http_request(w, *request);
  w.u64(token);
  auto a = call_child(run, w, "webhook");
  oemlink_status st = OEMLINK_ERROR;
  if (a && read_reply(run, *a, "webhook", [&](FrameReader& r) { st = r.i32(); })) {
    if (st == OEMLINK_OK) return OEMLINK_OK;
    if (take(webhooks_, token)) return st;  // the driver refused it: the host answers 500
    return OEMLINK_OK;
  }
  if (take(webhooks_, token)) answer_unavailable(respond, ctx);
  return OEMLINK_OK;
}

const void* RemoteInstance::get_extension(const char* id) const {
  if (id && std::string_view(id) == OEMLINK_EXTENSION_LINK && (link_flags_.load() & 1u))
    return &link_table;
  return nullptr;
}

oemlink_status RemoteInstance::authorize_url(const oemlink_link_authorize* q, char* buf, size_t cap,
                                             size_t* size) {
  auto run = current();
  if (!run) return OEMLINK_ERROR;
  FrameWriter w(kLinkAuthorize, run->channel->new_call_id());
  put_link_authorize(w, *q);
  auto a = call_child(run, w, "authorize_url");
  if (!a) return OEMLINK_ERROR;
  oemlink_status st = OEMLINK_ERROR;
  std::string_view text;
  if (!read_reply(run, *a, "authorize_url", [&](FrameReader& r) {
        st = r.i32();
        text = r.str();
      }))
    return OEMLINK_ERROR;
  if (size) *size = text.size();
  if (text.size() > cap) return st == OEMLINK_OK ? OEMLINK_RETRY : st;
  if (buf && !text.empty()) std::memcpy(buf, text.data(), text.size());
  return st;
}

oemlink_status RemoteInstance::exchange_code(const oemlink_link_callback* cb,
                                             oemlink_link_exchanged_fn done, void* ctx) {
  return start_owed(exchanges_, {reinterpret_cast<void*>(done), ctx, 0}, kLinkExchange,
                    "exchange_code", [&](FrameWriter& w, uint64_t token) {
                      put_link_callback(w, *cb);
                      w.u64(token);
                    });
}

oemlink_status RemoteInstance::list_vehicles(const oemlink_str* keys, const oemlink_str* values,
                                             size_t count, oemlink_link_vehicles_fn done,
                                             void* ctx) {
  return start_owed(lists_, {reinterpret_cast<void*>(done), ctx, 0}, kLinkList, "list_vehicles",
                    [&](FrameWriter& w, uint64_t token) {
                      put_pairs(w, keys, values, count);
                      w.u64(token);
                    });
}

void RemoteInstance::kill_child(const std::string& why) {
  auto run = current();
  if (!run) return;
  spdlog::error("driver {}: ending its process (pid {}) to restart it: {}", opts_.name, run->pid,
                why);
  kill_run(*run);
}

std::string RemoteInstance::reap(ChildRun& run, std::chrono::milliseconds grace) {
  if (run.reaped.exchange(true)) return "ended";
  return reap_child(run.pid, grace);
}

void RemoteInstance::kill_run(ChildRun& run) {
  if (!run.reaped.load()) ::kill(run.pid, SIGKILL);
}

void RemoteInstance::schedule_restart(std::chrono::milliseconds delay) {
  auto* ctx = new RestartCtx{shared_from_this()};
  uint64_t id =
      host_->timer_start(host_, static_cast<uint32_t>(delay.count()), &restart_fired, ctx);
  if (id == 0) {
    delete ctx;
    spdlog::warn(
        "driver {}: its process is not restarted (the host is stopping or letting the "
        "driver go)",
        opts_.name);
    std::lock_guard lk(mu_);
    restart_pending_ = false;
  }
}

void RemoteInstance::restart() {
  {
    std::lock_guard lk(mu_);
    restart_pending_ = false;
    if (destroying_ || child_) return;
  }
  std::string why;
  if (!start_child(why)) {
    std::chrono::milliseconds delay;
    {
      std::lock_guard lk(mu_);
      // A process that died during create was already seen lost, and that scheduled the retry.
      if (destroying_ || restart_pending_) return;
      delay = next_delay_;
      next_delay_ = std::min(next_delay_ * 2, opts_.max_restart_delay);
      restart_pending_ = true;
    }
    spdlog::error("driver {}: restarting its process failed: {}; trying again in {} ms", opts_.name,
                  why, delay.count());
    schedule_restart(delay);
    return;
  }
  auto run = current();
  std::vector<std::pair<uint64_t, OpenConnection>> todo;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, c] : conns_)
      if (!c.open_in_child) todo.emplace_back(id, c);
  }
  size_t opened = 0;
  for (const auto& [id, c] : todo) {
    if (!run) break;
    std::string error;
    bool ok = open_in(run, id, c, error);
    {
      std::lock_guard lk(mu_);
      auto it = conns_.find(id);
      if (ok && it != conns_.end() && child_ == run) {  // (as in open())
        it->second.open_in_child = true;
        ++opened;
      }
    }
    if (!ok && !error.empty()) {
      // The host believes it open: tell it the car cannot be served, as a failed open would.
      std::string reason = "open failed after the driver's process restarted: " + error;
      host_->report_state(host_, reinterpret_cast<oemlink_conn*>(id), OEMLINK_STATE_FAILED, 0,
                          {reason.data(), reason.size()});
    }
  }
  host_->counter_add(host_, {"process_restarts", 16}, 1);
  spdlog::info("driver {}: its process restarted (pid {}); {} of {} connections re-opened",
               opts_.name, run ? run->pid : -1, opened, todo.size());
}

}  // namespace oemlink::isolation
