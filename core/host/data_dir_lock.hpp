// DataDirLock: one writer per data dir. Two daemons on one outbox would collide on sequence
// numbers and lose events, so the daemon (and every command that changes the data dir) holds an
// exclusive flock on <data_dir>/oemlink.lock for as long as it runs. The kernel drops the lock
// when the process dies, however it dies, so a crash never leaves a stale lock behind.
#pragma once

#include "core/common/data_dir.hpp"

#include <sys/types.h>
#include <stdexcept>
#include <string>

namespace oemlink::host {

class DataDirBusy : public std::runtime_error {
 public:
  DataDirBusy(const std::string& what, pid_t holder) : std::runtime_error(what), holder_(holder) {}
  // The pid written by the holder, or 0 when it could not be read.
  pid_t holder() const { return holder_; }

 private:
  pid_t holder_;
};

class DataDirLock {
 public:
  // Creates the data dir (0700) and the lock file (0600) when missing, takes the lock without
  // waiting and writes this process's pid into the file. `what` names the taker in messages
  // ("oemlink run", "oemlink deadletter purge"). Throws DataDirBusy naming the holder's pid when
  // another process holds it, std::runtime_error naming the file on any other failure.
  DataDirLock(const DataDir& dir, const std::string& what);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // The pid holding `dir`'s lock now, or 0 when nobody does (a read-only probe: it never blocks
  // and never takes the lock for longer than the probe).
  static pid_t holder(const DataDir& dir);

 private:
  int fd_ = -1;
};

}  // namespace oemlink::host
