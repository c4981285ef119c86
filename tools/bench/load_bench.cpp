// oemlink-bench: the whole host under load, for BENCHMARKS.md.
//
//   oemlink-bench capacity   [--connections N] [--seconds S] [--interval D] [--stored none|all]
//       N mock connections polled every D (default 1,000,000 at 1h): RSS per connection and the
//       CPU the loop uses while the fleet is mostly idle. With --stored the connections live in
//       the connection store: a child process seeds it first (N YAML connections reconciled
//       into an empty store, then again unchanged, both timed; with `none` the store then gets N
//       linked rows instead, as a linked fleet has; then a first start, which claims the key
//       children), and the measured start is the second one: `all` with the YAML listing all N
//       (reconciled unchanged), `none` with a YAML listing none (the N linked rows).
//   oemlink-bench reconcile  [--connections N]
//       the connection store alone (default 1,000,000): the YAML reconciled into an empty store,
//       again unchanged, with 1% changed / removed / new, and one for_each over every row.
//   oemlink-bench throughput [--connections N] [--seconds S] [--interval D]
//       N connections due far more often than one loop can serve (default 10,000 at 100ms):
//       polls/s end to end (scheduler -> mock driver -> validate -> sign -> durable outbox ->
//       JSONL file sink), next to a baseline measured in the same run: the same driver, pipeline
//       and signing writing the file in a plain single-threaded loop, with no scheduler, event
//       loop or outbox.
//
//   oemlink-bench isolation [--connections N] [--seconds S] [--interval D]
//       the throughput run twice in the same process, the mock driver in the host (isolation:
//       in_process) and then in its own process (isolation: process): polls/s and CPU per poll
//       of host + driver process, and their ratio (issue 17's target: >= 70%).
//
//   oemlink-bench uplink [--connections N] [--seconds S]
//       the durable uplink against the local reference ingest server (tools/ingest-sink) over
//       mutual TLS, durability on: (1) drain rate from a pre-filled outbox to the sink; (2) end to
//       end mock driver -> sign -> outbox -> HTTPS -> sink at full demand; (3) append-to-
//       acknowledgement latency (p50/p99) at half of (2)'s rate.
//
// Drivers are found through the normal plugin search (<exe dir>/../plugins in a build tree).
#include "core/common/data_dir.hpp"
#include "core/common/locked_buffer.hpp"
#include "core/common/wall_clock.hpp"
#include "core/config/config.hpp"
#include "core/config/duration.hpp"
#include "core/host/runtime.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/loader/driver_library.hpp"
#include "core/pipeline/pipeline.hpp"
#include "core/store/connection_store.hpp"
#include "core/uplink/jsonl_file_sink.hpp"
#include "core/vault/in_process_vault.hpp"

#include <openssl/rand.h>

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace oemlink;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Args {
  std::string mode;
  uint64_t connections = 0;
  double seconds = 0;
  config::Duration interval{0};
  std::string stored;     // capacity: "" (YAML only, a fresh data dir), "none" or "all"
  bool isolated = false;  // the mock driver in its own process
};

struct SinkOverride {
  std::string url;  // non-empty: a dimo_https sink instead of the file sink
  fs::path pki;
};

config::Config make_config(const Args& a, const fs::path& data_dir, const SinkOverride& so = {}) {
  config::Config cfg;
  cfg.source = "<bench>";
  cfg.base_dir = data_dir;
  cfg.data_dir = data_dir;
  cfg.schedule.shutdown_timeout = std::chrono::milliseconds(5000);
  config::DriverConfig d;
  d.name = "mock";
  d.library = "mock";
  d.poll_interval = a.interval;
  d.max_concurrent_requests = 1'000'000;  // the mock answers in-line: no real API to protect
  if (a.isolated) d.isolation = config::DriverIsolation::process;
  cfg.drivers.push_back(d);
  cfg.connections.reserve(a.connections);
  for (uint64_t i = 0; i < a.connections; ++i) {
    config::ConnectionConfig c;
    c.id = "car-" + std::to_string(i);
    c.driver = "mock";
    char vin[18];
    std::snprintf(vin, sizeof vin, "5YJ3E1EA7KF%06llu",
                  static_cast<unsigned long long>(i % 1000000));
    c.vin = vin;
    c.vehicle_token_id = i + 1;
    c.synthetic_token_id = i + 1;
    c.key_child = static_cast<uint32_t>(i + 1);
    cfg.connections.push_back(std::move(c));
  }
  cfg.vault.create_if_missing = true;
  cfg.vault.file = data_dir / "vault.sealed";
  cfg.vault.kek = {KekSourceConfig::Kind::file, (data_dir / "kek.hex").string()};
  config::SinkConfig s;
  s.name = "events";
  if (so.url.empty()) {
    s.type = "file";
    s.file.path = data_dir / "events.jsonl";
    s.file.rotate_bytes = 256ull << 20;
    s.file.keep_files = 2;
  } else {
    s.name = "dimo";
    s.type = "dimo_https";
    s.https.url = so.url;
    s.https.client_cert = (so.pki / "client.crt").string();
    s.https.client_key = (so.pki / "client.key").string();
    s.https.ca_file = (so.pki / "ca.crt").string();
    s.https.max_in_flight = 128;
  }
  cfg.sinks.push_back(s);
  return cfg;
}

// Stops the runtime after `seconds`, sampling CPU and wall time after a warm-up.
struct Window {
  double warmup;
  double seconds;
  double cpu = 0, wall = 0;
  uint64_t polls_at_start = 0, polls_at_end = 0;
};

uint64_t polls_ok(host::Runtime& rt) {
  return static_cast<uint64_t>(rt.metrics().total("oemlink_polls_total", {{"outcome", "ok"}}));
}

void run_window(host::Runtime& rt, Window& w) {
  std::thread monitor([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(w.warmup));
    double c0 = cpu_seconds();
    auto t0 = Clock::now();
    w.polls_at_start = polls_ok(rt);
    std::this_thread::sleep_for(std::chrono::duration<double>(w.seconds));
    w.polls_at_end = polls_ok(rt);
    w.cpu = cpu_seconds() - c0;
    w.wall = std::chrono::duration<double>(Clock::now() - t0).count();
    rt.request_stop();
  });
  rt.run();
  monitor.join();
}

host::RuntimeOptions capacity_options() {
  host::RuntimeOptions opts = host::default_runtime_options();
  opts.handle_signals = false;
  opts.quiet_startup = true;
  opts.stats_interval = std::chrono::milliseconds(0);
  return opts;
}

// In a child process, so the measured start's RSS owes nothing to the seeding.
int seed_store(const Args& a, const fs::path& dir) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid > 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  int rc = 0;
  try {
    config::Config cfg = make_config(a, dir);
    const fs::path db = DataDir(dir).connections_db();
    {
      // With --stored none the timing runs on a scratch file: the rows that stay are linked ones.
      const fs::path timed = a.stored == "all" ? db : dir / "reconcile-timing.db";
      store::ConnectionStore s(timed);
      auto t0 = Clock::now();
      store::ReconcileReport r = s.reconcile_config(cfg.connections, unix_ms());
      double insert_s = std::chrono::duration<double>(Clock::now() - t0).count();
      t0 = Clock::now();
      store::ReconcileReport again = s.reconcile_config(cfg.connections, unix_ms());
      double same_s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("  seed: reconcile %zu YAML connections into an empty store: %.2f s\n",
                  r.inserted, insert_s);
      std::printf("  seed: reconcile them again, unchanged (%zu): %.2f s\n", again.unchanged,
                  same_s);
    }
    if (a.stored == "none") {
      for (const char* suffix : {"", "-wal", "-shm"})
        fs::remove(dir / (std::string("reconcile-timing.db") + suffix));
      // What a linked fleet looks like: rows only the store knows, with the maker's vehicle id.
      store::ConnectionStore s(db);
      auto t0 = Clock::now();
      std::vector<store::StoredConnection> rows;
      size_t stored = 0;
      for (size_t i = 0; i < cfg.connections.size(); ++i) {
        const config::ConnectionConfig& cc = cfg.connections[i];
        store::StoredConnection& r = rows.emplace_back();
        r.id = cc.id;
        r.driver = cc.driver;
        r.vehicle_id = "veh-" + std::to_string(i);
        r.vin = cc.vin;
        r.vehicle_token_id = cc.vehicle_token_id;
        r.synthetic_token_id = cc.synthetic_token_id;
        r.key_child = cc.key_child;
        r.source = "linked";
        r.created_ms = r.changed_ms = unix_ms();
        if (rows.size() == 100'000 || i + 1 == cfg.connections.size()) {
          for (const std::string& why : s.insert(rows)) stored += why.empty();
          rows.clear();
        }
      }
      std::printf("  seed: insert %zu linked connections (100,000 a transaction): %.2f s\n", stored,
                  std::chrono::duration<double>(Clock::now() - t0).count());
      std::vector<config::ConnectionConfig>().swap(cfg.connections);
    }
    auto t0 = Clock::now();
    host::Runtime rt(std::move(cfg), capacity_options());
    rt.start();
    std::printf("  seed: first start from the store (claims the key children): %.2f s\n",
                std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-bench: seeding: %s\n", e.what());
    rc = 1;
  }
  std::fflush(stdout);
  _exit(rc);
}

// The connection store alone: what reconcile_config and the start-up scan cost for N YAML rows.
int reconcile_bench(const Args& a, const fs::path& dir) {
  config::Config cfg = make_config(a, dir);
  store::ConnectionStore s(DataDir(dir).connections_db());
  auto timed = [](const char* what, auto&& f) {
    auto t0 = Clock::now();
    double c0 = cpu_seconds();
    auto out = f();
    // CPU beside wall time: on a shared machine the wall time is mostly the wait for a core.
    std::printf("  %-50s %6.2f s wall, %6.2f s CPU\n", what,
                std::chrono::duration<double>(Clock::now() - t0).count(), cpu_seconds() - c0);
    return out;
  };
  std::printf("reconcile: connections=%llu\n", static_cast<unsigned long long>(a.connections));
  long rss0 = rss_kib();
  auto r = timed("YAML into an empty store (all new)",
                 [&] { return s.reconcile_config(cfg.connections, unix_ms()); });
  std::printf("    inserted %zu, refused %zu; RSS %+.1f MiB\n", r.inserted, r.refused.size(),
              (rss_kib() - rss0) / 1024.0);
  r = timed("the same YAML again (all unchanged)",
            [&] { return s.reconcile_config(cfg.connections, unix_ms()); });
  std::printf("    unchanged %zu\n", r.unchanged);
  // 1% changed (VIN), 1% dropped, 1% new.
  const size_t step = 100;
  for (size_t i = 0; i < cfg.connections.size(); i += step) cfg.connections[i].vin += "X";
  for (size_t i = 1; i < cfg.connections.size(); i += step) cfg.connections[i].id += "-new";
  r = timed("1% changed, 1% removed, 1% new",
            [&] { return s.reconcile_config(cfg.connections, unix_ms()); });
  std::printf("    updated %zu, removed %zu, inserted %zu, unchanged %zu, refused %zu\n", r.updated,
              r.removed, r.inserted, r.unchanged, r.refused.size());
  size_t rows = timed("for_each over every row (what a start streams)", [&] {
    size_t n = 0;
    s.for_each([&](const store::StoredConnection&) {
      ++n;
      return true;
    });
    return n;
  });
  std::printf("    %zu rows; file %.1f MiB\n", rows,
              static_cast<double>(fs::file_size(DataDir(dir).connections_db())) / (1 << 20));
  return 0;
}

int capacity(const Args& a, const fs::path& dir) {
  if (!a.stored.empty()) {
    std::printf("capacity --stored %s: seeding the store with %llu connections\n", a.stored.c_str(),
                static_cast<unsigned long long>(a.connections));
    if (int rc = seed_store(a, dir); rc != 0) return rc;
  }
  Args yaml = a;
  if (a.stored == "none") yaml.connections = 0;
  long rss0 = rss_kib();
  auto t0 = Clock::now();
  host::Runtime rt(make_config(yaml, dir), capacity_options());
  rt.start();
  malloc_trim(0);  // return the parsed-config pages, as a long-running process would
  double start_s = std::chrono::duration<double>(Clock::now() - t0).count();
  long rss1 = rss_kib();
  Window w{5.0, a.seconds};
  run_window(rt, w);
  long rss2 = rss_kib();
  double per_conn = (rss2 - rss0) * 1024.0 / static_cast<double>(a.connections);
  std::printf("capacity: connections=%llu interval=%llds\n",
              static_cast<unsigned long long>(a.connections),
              static_cast<long long>(a.interval.count() / 1000));
  std::printf("  start-up (load, open all):  %.2f s%s\n", start_s,
              a.stored.empty()    ? " (YAML into a new store)"
              : a.stored == "all" ? " (second start; the YAML lists all of them)"
                                  : " (second start; the YAML lists none)");
  std::printf("  RSS before / after start / after run: %.1f / %.1f / %.1f MiB\n", rss0 / 1024.0,
              rss1 / 1024.0, rss2 / 1024.0);
  std::printf("  RSS per connection:         %.0f bytes (target <= 2147 for 1M in 2 GiB)\n",
              per_conn);
  std::printf(
      "  polls in window:            %llu in %.1f s (%.0f/s, expected %.0f/s)\n",
      static_cast<unsigned long long>(w.polls_at_end - w.polls_at_start), w.wall,
      (w.polls_at_end - w.polls_at_start) / w.wall,
      static_cast<double>(a.connections) * 1000.0 / static_cast<double>(a.interval.count()));
  std::printf("  CPU while idle:             %.2f%% of one core (target < 5%%)\n",
              100.0 * w.cpu / w.wall);
  return 0;
}

// ---- baseline: driver + pipeline + sink in a plain loop, no scheduler, no event loop ----

struct BaselineHost {
  pipeline::Pipeline* pipe = nullptr;
  std::vector<std::string> vins;
};
BaselineHost* g_baseline = nullptr;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

oemlink_host baseline_table() {
  oemlink_host h{};
  h.struct_size = sizeof h;
  h.abi_major = OEMLINK_ABI_MAJOR;
  h.abi_minor = OEMLINK_ABI_MINOR;
  h.log = [](const oemlink_host*, oemlink_conn*, oemlink_log_level, oemlink_str) {};
  h.emit = [](const oemlink_host*, oemlink_conn* c, const oemlink_reading* r, size_t n) {
    auto i = reinterpret_cast<uintptr_t>(c) - 1;
    pipeline::ConnectionIdentity id{.id = "car",
                                    .vin = g_baseline->vins[i],
                                    .vehicle_token_id = i + 1,
                                    .synthetic_token_id = i + 1,
                                    .key_child = static_cast<uint32_t>(i + 1)};
    return g_baseline->pipe->submit(id, {r, n}, wall_ms()).status;
  };
  h.report_state = [](const oemlink_host*, oemlink_conn*, oemlink_conn_state, int64_t,
                      oemlink_str) {};
  h.http_request = [](const oemlink_host*, oemlink_conn*, const oemlink_http_request*,
                      oemlink_http_done_fn, void*) -> oemlink_status { return OEMLINK_ERROR; };
  h.secret_get = [](const oemlink_host*, oemlink_conn*, oemlink_str, char*, size_t,
                    size_t*) -> oemlink_status { return OEMLINK_ERROR; };
  h.secret_put = [](const oemlink_host*, oemlink_conn*, const oemlink_str*, const oemlink_str*,
                    size_t) -> oemlink_status { return OEMLINK_ERROR; };
  h.timer_start = [](const oemlink_host*, uint32_t, oemlink_timer_fn, void*) -> uint64_t {
    return 0;
  };
  h.timer_cancel = [](const oemlink_host*, uint64_t) {};
  h.counter_add = [](const oemlink_host*, oemlink_str, uint64_t) {};
  h.now_unix_ms = [](const oemlink_host*) { return wall_ms(); };
  h.get_service = [](const oemlink_host*, const char*) -> const void* { return nullptr; };
  return h;
}

double baseline_polls_per_s(const Args& a, const fs::path& dir) {
  auto path = loader::resolve_driver_library("mock", {}, loader::default_plugin_dirs());
  const oemlink_driver* d = loader::load_driver_library(path).descriptor;
  MetricsRegistry metrics;
  config::FileSinkConfig fc;
  fc.path = dir / "baseline.jsonl";
  fc.rotate_bytes = 256ull << 20;
  fc.keep_files = 2;
  uplink::JsonLinesFileSink sink("baseline", fc, metrics);
  // The same signing the runtime does: in-process vault, child key per connection.
  LockedBuffer seed(32);
  RAND_bytes(seed.data(), 32);
  vault::InProcessVault vault(std::move(seed));
  host::VaultSigner signer(vault);
  pipeline::Pipeline pipe(pipeline::EventBuilder(pipeline::EnvelopeSettings{}, &signer), {&sink},
                          metrics);
  BaselineHost bh{&pipe, {}};
  g_baseline = &bh;
  oemlink_host table = baseline_table();
  std::string settings = R"({"seed":1})";
  oemlink_instance* inst = nullptr;
  char err[256];
  if (d->create(&table, {settings.data(), settings.size()}, &inst, err, sizeof err) != OEMLINK_OK)
    throw std::runtime_error(err);
  std::vector<void*> ctx(a.connections);
  std::vector<std::string> ids(a.connections);
  for (uint64_t i = 0; i < a.connections; ++i) {
    ids[i] = "car-" + std::to_string(i);
    bh.vins.push_back("5YJ3E1EA7KF" + std::to_string(100000 + i % 900000));
    oemlink_conn_info info{};
    info.struct_size = sizeof info;
    info.id = {ids[i].data(), ids[i].size()};
    info.vin = {bh.vins[i].data(), bh.vins[i].size()};
    d->open(inst, reinterpret_cast<oemlink_conn*>(i + 1), &info, &ctx[i], err, sizeof err);
  }
  static uint64_t done_count = 0;
  auto done = [](void*, oemlink_status st, oemlink_str) {
    if (st == OEMLINK_OK) ++done_count;
  };
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration<double>(a.seconds);
  uint64_t i = 0;
  while (Clock::now() < end) {
    for (int k = 0; k < 256; ++k, ++i) {
      uint64_t c = i % a.connections;
      d->poll(inst, reinterpret_cast<oemlink_conn*>(c + 1), ctx[c], done, nullptr);
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  pipe.flush();
  for (uint64_t c = 0; c < a.connections; ++c)
    d->close(inst, reinterpret_cast<oemlink_conn*>(c + 1), ctx[c]);
  d->destroy(inst);
  return static_cast<double>(done_count) / secs;
}

int throughput(const Args& a, const fs::path& dir) {
  double baseline = baseline_polls_per_s(a, dir);
  host::RuntimeOptions opts = host::default_runtime_options();
  opts.handle_signals = false;
  opts.quiet_startup = true;
  opts.stats_interval = std::chrono::milliseconds(0);
  host::Runtime rt(make_config(a, dir), opts);
  rt.start();
  Window w{2.0, a.seconds};
  run_window(rt, w);
  double rate = (w.polls_at_end - w.polls_at_start) / w.wall;
  std::printf(
      "throughput: connections=%llu interval=%lldms (demand %.0f polls/s)\n",
      static_cast<unsigned long long>(a.connections), static_cast<long long>(a.interval.count()),
      static_cast<double>(a.connections) * 1000.0 / static_cast<double>(a.interval.count()));
  std::printf(
      "  end to end (scheduler+driver+signing+outbox+file sink): %.0f polls/s, CPU %.0f%% of "
      "one core (target >= 20000)\n",
      rate, 100.0 * w.cpu / w.wall);
  std::printf("  baseline (driver+pipeline+signing+file, plain loop, no outbox): %.0f polls/s\n",
              baseline);
  std::printf("  ratio end to end / baseline: %.2f\n", rate / baseline);
  return 0;
}

// ---- isolation: the same run with the driver in the host and in its own process ----

// CPU seconds of this process's children that are still running (the driver's process is
// reaped only at the end, so RUSAGE_CHILDREN would not see it yet).
double children_cpu_seconds() {
  double total = 0;
  const std::string self = std::to_string(getpid());
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // After the name: state ppid ... utime (14th field overall) stime (15th).
    if (f.size() < 13 || f[1] != self) continue;
    total += (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return total;
}

struct IsolationRun {
  double polls_per_s = 0;
  double cpu_per_poll_us = 0;
  double host_cpu_share = 0;  // of one core
  double child_cpu_share = 0;
};

IsolationRun isolation_run(Args a, const fs::path& dir, bool isolated) {
  a.isolated = isolated;
  fs::path d = dir / (isolated ? "process" : "in-process");
  fs::create_directories(d);
  host::RuntimeOptions opts = host::default_runtime_options();
  opts.handle_signals = false;
  opts.quiet_startup = true;
  opts.stats_interval = std::chrono::milliseconds(0);
  host::Runtime rt(make_config(a, d), opts);
  rt.start();
  Window w{2.0, a.seconds};
  double child0 = 0, child1 = 0;
  std::thread sampler([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(w.warmup));
    child0 = children_cpu_seconds();
    std::this_thread::sleep_for(std::chrono::duration<double>(w.seconds));
    child1 = children_cpu_seconds();
  });
  run_window(rt, w);
  sampler.join();
  IsolationRun r;
  double polls = static_cast<double>(w.polls_at_end - w.polls_at_start);
  r.polls_per_s = polls / w.wall;
  r.host_cpu_share = w.cpu / w.wall;
  r.child_cpu_share = (child1 - child0) / w.wall;
  r.cpu_per_poll_us = polls > 0 ? 1e6 * (w.cpu + child1 - child0) / polls : 0;
  return r;
}

int isolation_bench(const Args& a, const fs::path& dir) {
  std::printf("isolation: connections=%llu interval=%lldms, mock driver, file sink\n",
              static_cast<unsigned long long>(a.connections),
              static_cast<long long>(a.interval.count()));
  IsolationRun in = isolation_run(a, dir, false);
  IsolationRun out = isolation_run(a, dir, true);
  auto show = [](const char* what, const IsolationRun& r) {
    std::printf(
        "  %-12s %8.0f polls/s  CPU %5.1f us/poll  (host %3.0f%%, driver process %3.0f%% "
        "of one core)\n",
        what, r.polls_per_s, r.cpu_per_poll_us, 100 * r.host_cpu_share, 100 * r.child_cpu_share);
  };
  show("in_process", in);
  show("process", out);
  std::printf("  ratio process / in_process: throughput %.2f (target >= 0.70), CPU per poll %.2f\n",
              out.polls_per_s / in.polls_per_s, out.cpu_per_poll_us / in.cpu_per_poll_us);
  return 0;
}

// ---- uplink: the reference ingest server as the peer ----

struct IngestProcess {
  pid_t pid = -1;
  int port = 0;
  ~IngestProcess() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

void start_ingest(IngestProcess& p, const fs::path& dir, const fs::path& pki, int port) {
  fs::path exe = fs::read_symlink("/proc/self/exe").parent_path() / "oemlink-ingest-sink";
  fs::path out = dir / "ingest.out";
  fs::remove(out);
  p.pid = fork();
  if (p.pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    int err = open((dir / "ingest.err").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(err, 2);
    std::string listen = "127.0.0.1:" + std::to_string(port);
    execl(exe.c_str(), exe.c_str(), "--cert", (pki / "server.crt").c_str(), "--key",
          (pki / "server.key").c_str(), "--ca", (pki / "ca.crt").c_str(), "--listen",
          listen.c_str(), "--threads", "1", "--log-level", "warn", (char*)nullptr);
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(out);
    std::string line;
    if (std::getline(in, line) && line.rfind("listening on 127.0.0.1:", 0) == 0) {
      p.port = std::stoi(line.substr(23));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("oemlink-ingest-sink did not start (see " +
                           (dir / "ingest.err").string() + ")");
}

uplink::DispatcherStats dimo_stats(host::Runtime& rt) {
  for (auto& [name, st] : rt.sink_stats())
    if (name == "dimo") return st;
  return {};
}

// Runs the runtime for the window; returns delivered/s over it.
double delivered_rate(host::Runtime& rt, double warmup, double seconds) {
  double rate = 0;
  std::thread monitor([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
    Counter& delivered =
        rt.metrics().counter("oemlink_sink_events_delivered_total",
                             "Events the sink's peer acknowledged", {{"sink", "dimo"}});
    // Latency is measured in the steady state: the warm-up includes opening many TLS sessions to
    // a single-threaded peer, a start-up cost reported separately.
    boost::asio::post(rt.io(), [&rt] { rt.reset_sink_latency(); });
    uint64_t d0 = delivered.value();
    auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    rate = (delivered.value() - d0) / std::chrono::duration<double>(Clock::now() - t0).count();
    rt.request_stop();
  });
  rt.run();
  monitor.join();
  return rate;
}

int uplink_bench(const Args& a, const fs::path& dir) {
  fs::path pki = dir / "pki";
  std::string cmd = "bash '" + std::string(OEMLINK_SOURCE_DIR) + "/tools/make-test-pki.sh' '" +
                    pki.string() + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-test-pki.sh failed");
  host::RuntimeOptions opts = host::default_runtime_options();
  opts.handle_signals = false;
  opts.quiet_startup = true;
  opts.stats_interval = std::chrono::milliseconds(0);

  // (1) Pre-fill: the sink is down (nothing listens), events pile up in the outbox.
  int free_port = 0;
  {
    IngestProcess probe;
    start_ingest(probe, dir, pki, 0);
    free_port = probe.port;
  }
  SinkOverride so{"https://127.0.0.1:" + std::to_string(free_port) + "/", pki};
  Args fill = a;
  fill.interval = std::chrono::milliseconds(50);
  fs::path d1 = dir / "drain";
  {
    host::Runtime rt(make_config(fill, d1, so), opts);
    rt.start();
    Window w{0.0, 4.0};
    run_window(rt, w);
  }
  // Then the sink comes up and the backlog drains; hourly polls add (almost) nothing new.
  IngestProcess ingest;
  start_ingest(ingest, dir, pki, free_port);
  Args quiet = a;
  quiet.interval = std::chrono::hours(1);
  double drain = 0;
  uint64_t backlog = 0;
  {
    host::Runtime rt(make_config(quiet, d1, so), opts);
    rt.start();
    drain = delivered_rate(rt, 0.5, 3.0);
    backlog = dimo_stats(rt).delivered;
  }

  // (2) End to end at full demand.
  Args full = a;
  full.interval = std::chrono::milliseconds(100);  // N cars x 10/s, far above capacity
  double e2e = 0;
  {
    host::Runtime rt(make_config(full, dir / "e2e", so), opts);
    rt.start();
    e2e = delivered_rate(rt, 2.0, a.seconds);
  }

  // (3) Latency at half that rate.
  Args half = a;
  double target = e2e / 2;
  half.interval = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(a.connections) * 1000.0 / target));
  double half_rate = 0;
  uplink::DispatcherStats lat, cold;
  {
    host::Runtime rt(make_config(half, dir / "latency", so), opts);
    rt.start();
    half_rate = delivered_rate(rt, 2.0, a.seconds);
    lat = dimo_stats(rt);
  }
  {
    // The same load measured from the very first event, start-up included.
    host::Runtime rt(make_config(half, dir / "latency-cold", so), opts);
    rt.start();
    Window w{0.0, a.seconds};
    run_window(rt, w);
    cold = dimo_stats(rt);
  }
  std::printf("uplink over mutual TLS to oemlink-ingest-sink, durability on (synchronous=FULL):\n");
  std::printf(
      "  outbox -> sink drain:       %.0f events/s (backlog of %llu delivered in the window)\n",
      drain, static_cast<unsigned long long>(backlog));
  std::printf(
      "  end to end, full demand:    %.0f events/s with %llu connections (target >= 5000)\n", e2e,
      static_cast<unsigned long long>(a.connections));
  std::printf(
      "  at half that rate (%.0f/s), steady state: append -> acknowledgement p50 %lld ms, "
      "p99 %lld ms, max %lld ms (target p99 <= 100)\n",
      half_rate, static_cast<long long>(lat.latency_p50_ms),
      static_cast<long long>(lat.latency_p99_ms), static_cast<long long>(lat.latency_max_ms));
  std::printf(
      "  same load from a cold start (TLS sessions opened meanwhile): p50 %lld ms, p99 %lld "
      "ms, max %lld ms\n",
      static_cast<long long>(cold.latency_p50_ms), static_cast<long long>(cold.latency_p99_ms),
      static_cast<long long>(cold.latency_max_ms));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: oemlink-bench capacity|throughput|isolation|uplink|reconcile [--connections N] "
        "[--seconds S] [--interval D] [--stored none|all (capacity)]\n");
    return 2;
  }
  a.mode = argv[1];
  bool cap = a.mode == "capacity";
  bool up = a.mode == "uplink";
  a.connections = cap || a.mode == "reconcile" ? 1'000'000 : up ? 1'000 : 10'000;
  a.seconds = cap ? 30 : 10;
  a.interval = cap ? std::chrono::hours(1) : std::chrono::milliseconds(100);
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--connections") {
      a.connections = std::stoull(v);
    } else if (k == "--seconds") {
      a.seconds = std::stod(v);
    } else if (k == "--stored" && cap && (v == "none" || v == "all")) {
      a.stored = v;
    } else if (k == "--interval") {
      auto d = config::parse_duration(v);
      if (!d.value) {
        std::fprintf(stderr, "--interval: %s\n", d.problem.c_str());
        return 2;
      }
      a.interval = *d.value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  fs::path dir = fs::temp_directory_path() / ("oemlink-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  int rc = 2;
  try {
    if (a.mode == "capacity") rc = capacity(a, dir);
    if (a.mode == "reconcile") rc = reconcile_bench(a, dir);
    if (a.mode == "throughput") rc = throughput(a, dir);
    if (a.mode == "uplink") rc = uplink_bench(a, dir);
    if (a.mode == "isolation") rc = isolation_bench(a, dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-bench: %s\n", e.what());
    rc = 1;
  }
  fs::remove_all(dir);
  return rc;
}
