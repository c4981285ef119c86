// SerialWorker: one thread that runs jobs one after another, in the order posted. The connection
// lifecycle's store writes and vault calls (each an fsync, or a round trip to oemlink-keyd) run
// here so the event loop never waits on a disk; their results are posted back to the loop.
//
// Threading: post() from any thread. stop() (or the destructor) runs every job already posted,
// then joins; a post() after stop() began is refused (returns false).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace oemlink::host {

class SerialWorker {
 public:
  explicit SerialWorker(std::string name);
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues a job; false once stopping. A job that throws is logged and the next one runs.
  bool post(std::function<void()> job);
  // Jobs posted and not finished yet.
  size_t pending() const;
  // Runs what is queued, then ends the thread. Idempotent.
  void stop();

 private:
  void run();

  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace oemlink::host
