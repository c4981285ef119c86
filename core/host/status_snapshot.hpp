// What the running daemon tells `oemlink status` and `oemlink deadletter`: one type, written to
// and read from the data dir's status.json, so neither side repeats the document's key names.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::host {

struct OutboxSnapshot {
  uint64_t depth = 0;
  uint64_t bytes = 0;
  int64_t oldest_ms = 0;  // append time of the oldest undelivered record, 0 when empty
  uint64_t appended = 0;
  uint64_t dropped = 0;
  uint64_t refused = 0;
  uint64_t corrupt = 0;
  uint64_t dead_letters = 0;
  uint64_t durable_seq = 0;
  // The outbox's last commit failed (a full disk): nothing new becomes durable, producers wait.
  // Daemons before these were added wrote none: read as writable.
  bool commit_failing = false;
  uint64_t commit_failures = 0;  // failed attempts of the batch being retried
  std::string commit_error{};    // SQLite's reason for the last failure
  bool operator==(const OutboxSnapshot&) const = default;
};

struct SinkSnapshot {
  std::string name;
  uint64_t delivered = 0;
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
  uint64_t in_flight = 0;
  uint64_t pending = 0;
  // Append to acknowledgement. Daemons before these were added wrote none: read as 0.
  int64_t latency_p50_ms = 0;
  int64_t latency_p99_ms = 0;
  bool operator==(const SinkSnapshot&) const = default;
};

// A configured driver instance: "loaded", "skipped" (on_load_error: skip), or "quarantined"
// (driver_quarantine.hpp) with why. Daemons before these were added wrote none.
struct DriverSnapshot {
  std::string name;
  std::string state;
  std::string reason;  // empty when loaded
  bool operator==(const DriverSnapshot&) const = default;
};

// The last reload (SIGHUP, `oemlink reload`) the daemon handled; absent until the first.
struct ReloadSnapshot {
  uint64_t number = 0;  // reloads handled since the daemon started: 1, 2, ...
  int64_t at_ms = 0;    // Unix ms when it finished
  std::string outcome;  // "applied", "refused" (nothing changed) or "failed" (partly applied)
  std::string summary;  // the log's summary line
  std::vector<std::string> errors;  // why it was refused or failed: check-config's lines
  bool operator==(const ReloadSnapshot&) const = default;
};

struct StatusSnapshot {
  int64_t pid = 0;
  bool running = false;  // false in the last snapshot a daemon writes as it stops
  int64_t updated_ms = 0;
  uint64_t connections = 0;
  // MetricsRegistry::snapshot(): metric_key(name, labels) → value.
  std::map<std::string, double> metrics;
  std::optional<OutboxSnapshot> outbox;  // absent when the daemon had no outbox open yet
  std::vector<SinkSnapshot> sinks;
  std::vector<DriverSnapshot> drivers;
  std::optional<ReloadSnapshot> reload;
  bool operator==(const StatusSnapshot&) const = default;
};

// The sum of family `name`'s series in `s.metrics` whose labels include `match` (all for {});
// 0 when there is none.
double metric_total(const StatusSnapshot& s, std::string_view name,
                    const std::map<std::string, std::string>& match = {});

// A status document that cannot be read, parsed or written. The text names the file (when there
// is one) and the key at fault, e.g. "/var/oemlink/status.json: outbox.depth: missing".
class StatusFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

boost::json::value to_json(const StatusSnapshot& s);

// Unknown keys are ignored (a newer daemon may write more); a missing or mistyped key throws
// StatusFileError naming it by its path in the document.
void from_json(const boost::json::value& v, StatusSnapshot& out);

// Replaces `path` atomically and durably: the document goes to a temp file with a unique name in
// the same directory (mode 0600), is fsynced, renamed over `path`, and the directory is fsynced.
// So that a full disk does not silence the status that reports it, the temp file is the spare
// `.<name>.spare` when one exists (allocated after the previous write, as large as that document
// plus 4 KiB; the text is padded with spaces to its size, so writing it allocates nothing), and a
// new spare is allocated after each write, from the space the replaced file gave back.
// Concurrent writers never leave a torn file. Every I/O failure throws StatusFileError naming the
// file and the failed step; the temp file is removed then.
void write_status_file(const std::filesystem::path& path, const StatusSnapshot& s);

// nullopt when `path` does not exist (no daemon has written it yet). An unreadable, corrupt or
// incomplete file throws StatusFileError naming the file.
std::optional<StatusSnapshot> read_status_file(const std::filesystem::path& path);

// The snapshot says its daemon runs, and a process with its pid exists.
bool daemon_alive(const StatusSnapshot& s);

}  // namespace oemlink::host
