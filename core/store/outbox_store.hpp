// The durable outbox: every signed event lands here before anything upstream is acknowledged,
// and leaves only when every sink has delivered it (or dead-lettered it).
//
// SQLite in WAL mode in the data dir. Each record's event JSON is sealed with AES-256-GCM under
// the outbox data key (itself sealed under the deployment's KEK), with the sequence number as
// associated data, so a copied data dir reveals no readings and records cannot be swapped.
//
// Appends are group-committed: append() only queues; one writer thread commits everything
// queued in one transaction (synchronous=FULL: durable against power loss) and then reports the
// highest durable sequence through the DurableCallback. Callers hold back whatever acknowledges
// the source (a poll's completion, a webhook's 2xx) until their sequence is durable.
//
// Each sink has its own cursor; a record is deleted once every sink is past it. The outbox is
// bounded (max_bytes / max_records of undelivered data); when full, `block` makes append() refuse
// (the pipeline answers RETRY, drivers keep their data, polling slows, memory stays flat) and
// `drop_oldest` deletes the oldest record (counted and logged).
//
// A record that fails authentication on read (corruption) is moved to the corrupt table,
// counted, and skipped for delivery: the process neither crash-loops on it nor drops it silently.
#pragma once

#include "core/common/locked_buffer.hpp"
#include "core/store/secret_store.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::store {

enum class FullPolicy { block, drop_oldest };

struct OutboxOptions {
  std::filesystem::path path;         // e.g. <data_dir>/outbox.db
  uint64_t max_bytes = 1ull << 30;    // undelivered payload bytes (ciphertext)
  uint64_t max_records = 10'000'000;  // undelivered records
  FullPolicy full_policy = FullPolicy::block;
  std::chrono::milliseconds max_commit_delay{5};  // group commit window after the first append
  size_t max_batch = 4096;                        // records per transaction at most
  std::vector<std::string> sinks;                 // sink names; cursors are created for new ones
};

// One event as stored.
struct OutboxRecord {
  uint64_t seq = 0;           // assigned at append, strictly increasing, never reused
  std::string event_id;       // the CloudEvent id (stable across retries)
  std::string connection_id;  // for per-connection ordering
  int64_t appended_ms = 0;    // wall clock at append
  std::string json;           // the signed CloudEvent, exactly as built
};

struct OutboxStats {
  uint64_t depth = 0;         // records not yet delivered by every sink
  uint64_t bytes = 0;         // their stored size
  int64_t oldest_ms = 0;      // append time of the oldest undelivered record (0: none)
  uint64_t appended = 0;      // since open
  uint64_t dropped = 0;       // drop_oldest evictions since open
  uint64_t refused = 0;       // appends refused by `block` since open
  uint64_t corrupt = 0;       // records moved aside since open
  uint64_t dead_letters = 0;  // rows in the dead-letter table (all time)
  uint64_t durable_seq = 0;
  uint64_t commits = 0;  // writer transactions since open (appended / commits = batch)
};

// Whether the writer's last commit succeeded (readiness: "the outbox is writable"). Failing from
// the first failed attempt of a batch until a commit succeeds again; the writer keeps retrying
// (the batch stays in memory and nothing is acknowledged upstream meanwhile).
struct OutboxCommitHealth {
  bool failing = false;
  uint64_t consecutive_failures = 0;  // attempts of the batch being retried
  std::string last_error;             // SQLite's message for the last failure (never record data)
  uint64_t failures_total = 0;        // failed attempts since open
};

// What abandon() left uncommitted: appends with seq in (durable_seq, last_seq].
struct OutboxAbandoned {
  uint64_t records = 0;
  uint64_t first_seq = 0;  // 0 when records == 0
  uint64_t last_seq = 0;
  std::string error;  // the last commit failure, empty when no commit had failed
};

struct DeadLetter {
  uint64_t seq = 0;
  std::string sink;
  std::string event_id;
  std::string connection_id;
  std::string reason;  // the peer's response text, truncated
  int64_t failed_ms = 0;
  std::string json;  // decrypted event
};

class OutboxStore {
 public:
  // Called on the writer thread after each commit with the highest durable sequence.
  using DurableCallback = std::function<void(uint64_t durable_seq)>;

  // Opens or creates the database; starts the writer thread. Throws StoreError naming the path.
  OutboxStore(OutboxOptions options, const DataKey& data_key, DurableCallback on_durable);
  // Commits what is queued, stops the writer, closes. Does not lose queued appends.
  ~OutboxStore();
  OutboxStore(const OutboxStore&) = delete;
  OutboxStore& operator=(const OutboxStore&) = delete;

  // [any-thread] Queues an event. Returns its sequence number, or nullopt when the outbox is
  // full under the `block` policy (nothing queued: the caller keeps its data and retries).
  std::optional<uint64_t> append(std::string_view event_id, std::string_view connection_id,
                                 std::string_view json);

  // [any-thread] Blocks until everything appended so far is durable (shutdown, tests), or the
  // outbox was abandoned.
  void flush();
  // [any-thread] flush() with a deadline: false when it passed first (commits keep failing).
  bool flush_until(std::chrono::steady_clock::time_point deadline);

  // [any-thread] Shutdown out of time: the writer stops retrying a failed commit and commits
  // nothing more; what was appended and not committed stays uncommitted. Safe: none of it was
  // reported durable, so every source still holds it (a poll never completed is polled again).
  // Waits for the writer until `deadline`. Returns what was left behind.
  OutboxAbandoned abandon(std::chrono::steady_clock::time_point deadline);

  // [any-thread] The next durable, undelivered records for `sink` after `after_seq`, in sequence
  // order, at most `max`. Records already acknowledged for this sink are skipped.
  std::vector<OutboxRecord> read(std::string_view sink, uint64_t after_seq, size_t max);

  // [any-thread] `sink` has delivered `seqs` (in any order). Cursors advance over contiguous
  // acknowledgements; records every sink is past are deleted. Durable when it returns.
  void ack(std::string_view sink, const std::vector<uint64_t>& seqs);

  // [any-thread] `sink` will never deliver `seq` (the peer said 400): moved to the dead-letter
  // table for that sink with `reason`, counted as acknowledged for the cursor.
  void dead_letter(std::string_view sink, uint64_t seq, std::string_view reason);

  // [any-thread] The sink's cursor: every record <= it is delivered or dead-lettered.
  uint64_t cursor(std::string_view sink);

  // [any-thread] A sink configured while the outbox is open (a reload). Its cursor starts at the
  // highest committed record: it receives what is appended from now on, not the backlog the
  // other sinks still hold (unlike a sink new at open, which receives everything stored). A sink
  // that already has a cursor keeps it. Returns the cursor. Durable when it returns.
  uint64_t add_sink(std::string_view sink);
  // [any-thread] A sink no longer configured (a reload), after its dispatcher stopped: its
  // cursor and acknowledgements go, and records only it was holding are deleted. Refused (throws
  // StoreError) for the last sink: records would pile up with nobody to release them.
  void remove_sink(std::string_view sink);
  // [any-thread] The sinks that have a cursor, in name order.
  std::vector<std::string> sinks();

  // Dead-letter administration (`oemlink deadletter list|retry|purge`).
  std::vector<DeadLetter> dead_letters(std::string_view sink = {}, size_t max = 1000);
  // Re-appends dead letters (all, or one seq) as new records for delivery; returns how many.
  size_t retry_dead_letters(std::string_view sink = {}, std::optional<uint64_t> seq = {});
  size_t purge_dead_letters(std::string_view sink = {}, std::optional<uint64_t> seq = {});

  OutboxStats stats();
  // [any-thread] Cheap (one mutex, no query): readiness asks on every GET /readyz.
  OutboxCommitHealth commit_health();
  // [any-thread] commit_health().failing, without the lock: asked on every emit. While it is
  // true the pipeline takes no new batch (emit answers RETRY), so that nothing a driver was told
  // was taken piles up in memory where a shutdown out of time would have to give it up.
  bool commit_failing() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The outbox's data key: 32 random bytes sealed (AES-256-GCM) under the KEK in `path`, created
// 0600 on first use, returned in locked memory (it never passes through any other). Throws
// StoreError naming the path; a wrong KEK says so.
// `purpose` ("outbox", "secrets") is bound into the sealing, so key files cannot be swapped.
// Throws SealedKeyMismatch when the file exists and does not open under `kek`.
LockedDataKey load_or_create_sealed_data_key(const std::filesystem::path& path, const DataKey& kek,
                                             std::string_view purpose = "outbox");

// A sealed data key file that does not open under the KEK given: another KEK sealed it (a data
// dir from before the split KEKs), or it is corrupted.
class SealedKeyMismatch : public StoreError {
 public:
  using StoreError::StoreError;
};

enum class ResealOutcome { no_file, already_sealed_under_new_kek, resealed };

// Moves a sealed data key from `old_kek` to `new_kek`: unseals with the old, seals the same
// data key under the new, and replaces the file atomically (write_private_file), so a crash
// leaves either the old or the new file. Already under the new KEK: left alone, so a repeated
// run is harmless. Throws SealedKeyMismatch when it opens under neither.
ResealOutcome reseal_data_key(const std::filesystem::path& path, const DataKey& old_kek,
                              const DataKey& new_kek, std::string_view purpose);

}  // namespace oemlink::store
