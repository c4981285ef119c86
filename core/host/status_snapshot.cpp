#include "core/host/status_snapshot.hpp"

#include "core/common/metric_key.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <type_traits>

namespace oemlink::host {
namespace {

namespace json = boost::json;

enum class Presence { required, optional };

// Each key of the document is named once, here; the writer and the reader walk the same lists.
template <class Snapshot, class Visit>
void top_level_fields(Snapshot& s, Visit&& visit) {
  visit("pid", s.pid, Presence::required);
  visit("running", s.running, Presence::required);
  visit("updated_ms", s.updated_ms, Presence::required);
  visit("connections", s.connections, Presence::required);
}
constexpr const char* kMetrics = "metrics";
constexpr const char* kLegacyCounters = "counters";  // daemons before issue 15
constexpr const char* kOutbox = "outbox";
constexpr const char* kSinks = "sinks";
constexpr const char* kReload = "reload";
constexpr const char* kDrivers = "drivers";
constexpr const char* kErrors = "errors";

template <class Reload, class Visit>
void reload_fields(Reload& r, Visit&& visit) {
  visit("number", r.number, Presence::required);
  visit("at_ms", r.at_ms, Presence::required);
  visit("outcome", r.outcome, Presence::required);
  visit("summary", r.summary, Presence::required);
}

template <class Driver, class Visit>
void driver_fields(Driver& d, Visit&& visit) {
  visit("name", d.name, Presence::required);
  visit("state", d.state, Presence::required);
  visit("reason", d.reason, Presence::optional);
}

template <class Outbox, class Visit>
void outbox_fields(Outbox& o, Visit&& visit) {
  visit("depth", o.depth, Presence::required);
  visit("bytes", o.bytes, Presence::required);
  visit("oldest_ms", o.oldest_ms, Presence::required);
  visit("appended", o.appended, Presence::required);
  visit("dropped", o.dropped, Presence::required);
  visit("refused", o.refused, Presence::required);
  visit("corrupt", o.corrupt, Presence::required);
  visit("dead_letters", o.dead_letters, Presence::required);
  visit("durable_seq", o.durable_seq, Presence::required);
  visit("commit_failing", o.commit_failing, Presence::optional);
  visit("commit_failures", o.commit_failures, Presence::optional);
  visit("commit_error", o.commit_error, Presence::optional);
}

template <class Sink, class Visit>
void sink_fields(Sink& k, Visit&& visit) {
  visit("name", k.name, Presence::required);
  visit("delivered", k.delivered, Presence::required);
  visit("retried", k.retried, Presence::required);
  visit("dead_lettered", k.dead_lettered, Presence::required);
  visit("in_flight", k.in_flight, Presence::required);
  visit("pending", k.pending, Presence::required);
  visit("latency_p50_ms", k.latency_p50_ms, Presence::optional);
  visit("latency_p99_ms", k.latency_p99_ms, Presence::optional);
}

struct ObjectWriter {
  json::object& out;
  template <class T>
  void operator()(const char* key, const T& value, Presence) {
    if constexpr (std::is_same_v<T, std::string>)
      out[key] = json::string(value);
    else
      out[key] = value;
  }
};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw StatusFileError(where + ": " + what);
}

void read_value(const json::value& v, bool& out, const std::string& where) {
  if (!v.is_bool()) bad(where, "expected true or false");
  out = v.get_bool();
}

void read_value(const json::value& v, std::string& out, const std::string& where) {
  if (!v.is_string()) bad(where, "expected a string");
  out = std::string(v.get_string());
}

void read_value(const json::value& v, double& out, const std::string& where) {
  if (!v.is_number()) bad(where, "expected a number");
  out = v.to_number<double>();
}

template <class Int>
requires std::is_integral_v<Int>
void read_value(const json::value& v, Int& out, const std::string& where) {
  // The parser gives int64 for most numbers, uint64 only above INT64_MAX.
  if (v.is_int64()) {
    int64_t n = v.get_int64();
    if (std::is_unsigned_v<Int> && n < 0) bad(where, "expected a number >= 0");
    out = static_cast<Int>(n);
  } else if (v.is_uint64()) {
    uint64_t n = v.get_uint64();
    if (n > static_cast<uint64_t>(std::numeric_limits<Int>::max())) bad(where, "out of range");
    out = static_cast<Int>(n);
  } else {
    bad(where, "expected an integer");
  }
}

const json::object& as_object(const json::value& v, const std::string& where) {
  if (!v.is_object()) bad(where, "expected an object");
  return v.get_object();
}

struct ObjectReader {
  const json::object& in;
  std::string prefix;  // "" at the top, "outbox." or "sinks[2]." below
  template <class T>
  void operator()(const char* key, T& out, Presence presence) {
    const json::value* v = in.if_contains(key);
    if (!v) {
      if (presence == Presence::required) bad(prefix + key, "missing");
      return;
    }
    read_value(*v, out, prefix + key);
  }
};

std::string errno_text(int err) {
  return std::strerror(err);
}

// Closes on scope exit; the write path closes explicitly first to see close's own error.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

double metric_total(const StatusSnapshot& s, std::string_view name,
                    const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (auto it = s.metrics.lower_bound(std::string(name)); it != s.metrics.end(); ++it) {
    if (it->first.compare(0, name.size(), name) != 0) break;
    auto key = parse_metric_key(it->first);
    if (!key || key->name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto l = key->labels.find(k);
      all = all && l != key->labels.end() && l->second == v;
    }
    if (all) sum += it->second;
  }
  return sum;
}

json::value to_json(const StatusSnapshot& s) {
  json::object doc;
  top_level_fields(s, ObjectWriter{doc});
  json::object metrics;
  for (const auto& [key, value] : s.metrics) {
    // Counts stay integers in the document; gauges and sums may have fractions.
    if (value >= 0 && value < 9007199254740992.0 &&
        value == static_cast<double>(static_cast<uint64_t>(value)))
      metrics[key] = static_cast<uint64_t>(value);
    else
      metrics[key] = value;
  }
  doc[kMetrics] = std::move(metrics);
  if (s.outbox) {
    json::object outbox;
    outbox_fields(*s.outbox, ObjectWriter{outbox});
    doc[kOutbox] = std::move(outbox);
  }
  json::array sinks;
  for (const SinkSnapshot& k : s.sinks) {
    json::object sink;
    sink_fields(k, ObjectWriter{sink});
    sinks.push_back(std::move(sink));
  }
  doc[kSinks] = std::move(sinks);
  json::array drivers;
  for (const DriverSnapshot& d : s.drivers) {
    json::object driver;
    driver_fields(d, ObjectWriter{driver});
    drivers.push_back(std::move(driver));
  }
  doc[kDrivers] = std::move(drivers);
  if (s.reload) {
    json::object reload;
    reload_fields(*s.reload, ObjectWriter{reload});
    json::array errors;
    for (const std::string& e : s.reload->errors) errors.push_back(json::string(e));
    reload[kErrors] = std::move(errors);
    doc[kReload] = std::move(reload);
  }
  return doc;
}

void from_json(const json::value& v, StatusSnapshot& out) {
  StatusSnapshot s;
  const json::object& doc = as_object(v, "document");
  top_level_fields(s, ObjectReader{doc, ""});
  const char* metrics_key =
      doc.contains(kMetrics) || !doc.contains(kLegacyCounters) ? kMetrics : kLegacyCounters;
  const json::value* metrics = doc.if_contains(metrics_key);
  if (!metrics) bad(kMetrics, "missing");
  for (const auto& [name, value] : as_object(*metrics, metrics_key)) {
    std::string key(name);
    read_value(value, s.metrics[key], std::string(metrics_key) + "." + key);
  }
  if (const json::value* outbox = doc.if_contains(kOutbox)) {
    s.outbox.emplace();
    outbox_fields(*s.outbox, ObjectReader{as_object(*outbox, kOutbox), std::string(kOutbox) + "."});
  }
  // Written only together with the outbox before this type existed.
  if (const json::value* sinks = doc.if_contains(kSinks)) {
    if (!sinks->is_array()) bad(kSinks, "expected an array");
    size_t i = 0;
    for (const json::value& item : sinks->get_array()) {
      std::string where = std::string(kSinks) + "[" + std::to_string(i++) + "]";
      SinkSnapshot k;
      sink_fields(k, ObjectReader{as_object(item, where), where + "."});
      s.sinks.push_back(std::move(k));
    }
  }
  if (const json::value* drivers = doc.if_contains(kDrivers)) {
    if (!drivers->is_array()) bad(kDrivers, "expected an array");
    size_t i = 0;
    for (const json::value& item : drivers->get_array()) {
      std::string where = std::string(kDrivers) + "[" + std::to_string(i++) + "]";
      DriverSnapshot d;
      driver_fields(d, ObjectReader{as_object(item, where), where + "."});
      s.drivers.push_back(std::move(d));
    }
  }
  if (const json::value* reload = doc.if_contains(kReload)) {
    const std::string where = std::string(kReload) + ".";
    const json::object& r = as_object(*reload, kReload);
    s.reload.emplace();
    reload_fields(*s.reload, ObjectReader{r, where});
    if (const json::value* errors = r.if_contains(kErrors)) {
      if (!errors->is_array()) bad(where + kErrors, "expected an array");
      size_t i = 0;
      for (const json::value& e : errors->get_array()) {
        std::string line;
        read_value(e, line, where + kErrors + "[" + std::to_string(i++) + "]");
        s.reload->errors.push_back(std::move(line));
      }
    }
  }
  out = std::move(s);
}

namespace {

constexpr size_t kBlock = 4096;

// The spare, renamed to a name of this write's own so that two writers never share it; -1 when
// there is none or it is too small for `need` bytes (then it goes: a larger one is allocated
// after this write).
int claim_spare(const std::filesystem::path& spare, const std::string& claimed, size_t need,
                size_t& size) {
  struct stat st {};
  if (::stat(spare.c_str(), &st) != 0) return -1;
  if (static_cast<size_t>(st.st_size) < need) {
    ::unlink(spare.c_str());
    return -1;
  }
  if (::rename(spare.c_str(), claimed.c_str()) != 0) return -1;
  int fd = ::open(claimed.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < need) {
    if (fd >= 0) ::close(fd);
    ::unlink(claimed.c_str());
    return -1;
  }
  size = static_cast<size_t>(st.st_size);
  return fd;
}

// Best effort: without a spare the next write needs free space, as any write does.
void allocate_spare(const std::filesystem::path& spare, size_t size) {
  int fd = ::open(spare.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(size)) == 0;
  ::close(fd);
  if (!ok) ::unlink(spare.c_str());
}

}  // namespace

void write_status_file(const std::filesystem::path& path, const StatusSnapshot& s) {
  std::string text = json::serialize(to_json(s));
  const size_t document = text.size() + 1;
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const std::filesystem::path spare = dir / ("." + path.filename().string() + ".spare");
  // A unique name per write: two writers never share (and so never truncate) a temp file.
  std::string tmp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  // Called right after the failed call, before anything else can change errno.
  auto fail = [&](const char* step) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw StatusFileError(path.string() + ": " + step + " " + tmp + ": " + errno_text(err));
  };
  Fd file;
  size_t size = 0;
  {
    // mkostemp's name, reserved by a file that is replaced at once by the spare.
    file.fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (file.fd < 0) {
      int err = errno;
      throw StatusFileError(path.string() + ": cannot create a temp file in " + dir.string() +
                            ": " + errno_text(err));
    }
    int spare_fd = claim_spare(spare, tmp, document, size);
    if (spare_fd >= 0) {
      ::close(file.fd);
      file.fd = spare_fd;
    }
  }
  // Whitespace after the document is valid JSON; filling the spare exactly allocates nothing.
  if (size > text.size() + 1) text.append(size - text.size() - 1, ' ');
  text += '\n';
  if (::fchmod(file.fd, 0600) != 0) fail("chmod");
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::pwrite(file.fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(file.fd) != 0) fail("fsync");
  int fd = file.fd;
  file.fd = -1;
  if (::close(fd) != 0) fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  // The rename is durable only once the directory entry is.
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0) {
    int err = errno;
    throw StatusFileError(path.string() + ": fsync of directory " + dir.string() + ": " +
                          errno_text(err));
  }
  allocate_spare(spare, (document / kBlock + 2) * kBlock);
}

constexpr size_t kMaxStatusBytes = 1 << 20;

std::optional<StatusSnapshot> read_status_file(const std::filesystem::path& path) {
  Fd file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) {
    int err = errno;
    if (err == ENOENT) return std::nullopt;
    throw StatusFileError(path.string() + ": cannot open: " + errno_text(err));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(file.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      throw StatusFileError(path.string() + ": cannot read: " + errno_text(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    // A status document is a few KiB; anything endless (a link to /dev/zero) is not one.
    if (text.size() > kMaxStatusBytes)
      throw StatusFileError(path.string() + ": not a status document: larger than 1 MiB");
  }
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) throw StatusFileError(path.string() + ": not a status document: " + ec.message());
  StatusSnapshot s;
  try {
    from_json(doc, s);
  } catch (const StatusFileError& e) {
    throw StatusFileError(path.string() + ": " + e.what());
  }
  return s;
}

bool daemon_alive(const StatusSnapshot& s) {
  if (!s.running || s.pid <= 0) return false;
  // EPERM: the process exists but belongs to another user.
  return ::kill(static_cast<pid_t>(s.pid), 0) == 0 || errno == EPERM;
}

}  // namespace oemlink::host
