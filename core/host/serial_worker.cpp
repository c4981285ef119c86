#include "core/host/serial_worker.hpp"

#include <spdlog/spdlog.h>

namespace oemlink::host {

SerialWorker::SerialWorker(std::string name) : name_(std::move(name)), thread_([this] { run(); }) {}

SerialWorker::~SerialWorker() {
  stop();
}

bool SerialWorker::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t SerialWorker::pending() const {
  std::lock_guard lock(mu_);
  return jobs_.size() + running_;
}

void SerialWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SerialWorker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything posted has run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs report their own failures; reaching here is a bug, which must not end the thread.
      spdlog::error("{}: a job failed: {}", name_, e.what());
    }
    job = nullptr;  // its captures (secrets among them) go before the next job
    lock.lock();
    --running_;
  }
}

}  // namespace oemlink::host
