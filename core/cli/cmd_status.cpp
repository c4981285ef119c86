#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/common/data_dir.hpp"
#include "core/common/wall_clock.hpp"

#include <signal.h>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace oemlink::cli {

static constexpr const char* kStatusHelp = R"(usage: oemlink status [--config FILE] [--json]

Shows what a running (or the last) oemlink wrote to its data dir: whether it runs, poll and
pipeline counters, the outbox's depth and the age of its oldest record, and per sink the events
delivered, retried and dead-lettered. Reads files only; needs no key.

  --config FILE    the configuration whose data_dir to read (default: the built-in one)
  --json           print the raw status document
Exit status: 0 running, 1 not running or no status yet, 2 usage error.
)";

namespace {

uint64_t num(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

}  // namespace

int cmd_status(const Args& args) {
  std::string config_path;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kStatusHelp, stdout);
      return 0;
    } else if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--json") {
      json = true;
    } else {
      std::fputs(kStatusHelp, stderr);
      return 2;
    }
  }
  config::Config cfg;
  try {
    cfg = load_config_or_default(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  auto path = DataDir(cfg.data_dir).status_json();
  std::ifstream in(path);
  if (!in) {
    std::printf("no status in %s: oemlink has not run with this data dir\n", cfg.data_dir.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (json) {
    std::fputs(ss.str().c_str(), stdout);
    return 0;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(ss.str(), ec);
  if (ec || !doc.is_object()) {
    std::fprintf(stderr, "%s: unreadable status (%s)\n", path.c_str(), ec.message().c_str());
    return 1;
  }
  const auto& st = doc.as_object();
  auto pid = static_cast<pid_t>(num(st, "pid"));
  bool running = st.at("running").as_bool() && pid > 0 && kill(pid, 0) == 0;
  int64_t now = unix_ms();
  int64_t age = (now - static_cast<int64_t>(num(st, "updated_ms"))) / 1000;
  std::printf("oemlink %s (pid %d), status written %lld s ago\n",
              running ? "running" : "NOT running", pid, static_cast<long long>(age));
  const auto& c = st.at("counters").as_object();
  std::printf("connections: %llu   polls ok %llu, retry %llu, error %llu, hung %llu\n",
              static_cast<unsigned long long>(num(st, "connections")),
              static_cast<unsigned long long>(num(c, "polls_ok")),
              static_cast<unsigned long long>(num(c, "polls_retry")),
              static_cast<unsigned long long>(num(c, "polls_error")),
              static_cast<unsigned long long>(num(c, "driver_hung_polls")));
  std::printf(
      "pipeline:    events %llu, readings accepted %llu, rejected %llu, events "
      "rejected %llu, back-pressured %llu\n",
      static_cast<unsigned long long>(num(c, "pipeline_events_built")),
      static_cast<unsigned long long>(num(c, "pipeline_readings_accepted")),
      static_cast<unsigned long long>(num(c, "pipeline_readings_rejected")),
      static_cast<unsigned long long>(num(c, "pipeline_events_rejected")),
      static_cast<unsigned long long>(num(c, "pipeline_events_backpressured")));
  if (auto* o = st.if_contains("outbox"); o && o->is_object()) {
    const auto& ob = o->as_object();
    uint64_t oldest = num(ob, "oldest_ms");
    std::printf(
        "outbox:      depth %llu (%llu KiB), oldest %lld s; appended %llu, dropped %llu, "
        "refused %llu, corrupt %llu, dead letters %llu\n",
        static_cast<unsigned long long>(num(ob, "depth")),
        static_cast<unsigned long long>(num(ob, "bytes") / 1024),
        static_cast<long long>(oldest ? (now - static_cast<int64_t>(oldest)) / 1000 : 0),
        static_cast<unsigned long long>(num(ob, "appended")),
        static_cast<unsigned long long>(num(ob, "dropped")),
        static_cast<unsigned long long>(num(ob, "refused")),
        static_cast<unsigned long long>(num(ob, "corrupt")),
        static_cast<unsigned long long>(num(ob, "dead_letters")));
  }
  if (auto* s = st.if_contains("sinks"); s && s->is_array()) {
    for (const auto& v : s->as_array()) {
      const auto& k = v.as_object();
      std::printf("sink %-8s delivered %llu, retried %llu, dead-lettered %llu, in flight %llu\n",
                  std::string(k.at("name").as_string()).c_str(),
                  static_cast<unsigned long long>(num(k, "delivered")),
                  static_cast<unsigned long long>(num(k, "retried")),
                  static_cast<unsigned long long>(num(k, "dead_lettered")),
                  static_cast<unsigned long long>(num(k, "in_flight")));
    }
  }
  return running ? 0 : 1;
}

}  // namespace oemlink::cli
