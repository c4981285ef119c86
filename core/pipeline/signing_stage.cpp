#include "core/pipeline/signing_stage.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace oemlink::pipeline {

SigningStage::SigningStage(Pipeline& pipeline, Settled settled, size_t max_queued, Pause pause)
    : pipeline_(pipeline),
      settled_(std::move(settled)),
      max_queued_(max_queued),
      pause_(pause ? std::move(pause)
                   : Pause([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); })) {
  worker_ = std::thread([this] { work(); });
}

SigningStage::~SigningStage() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

size_t SigningStage::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

SigningStage::Submitted SigningStage::submit(uint32_t tag, const ConnectionIdentity& conn,
                                             std::span<const oemlink_reading> readings,
                                             int64_t now_ms,
                                             std::optional<int64_t> future_reference_ms) {
  Submitted out;
  {
    std::lock_guard lock(mu_);
    if (jobs_.size() >= max_queued_ || abandoned_all_) {
      out.status = OEMLINK_RETRY;  // back-pressure: validate nothing, take nothing
      return out;
    }
  }
  // The outbox cannot commit (a full disk): a batch taken now would be held in memory only, and a
  // shutdown out of time gives that up. The driver keeps it instead and offers it again; a poll's
  // completion was held anyway, but a stream's emit has nothing else to hold its data.
  if (!pipeline_.admits()) {
    out.status = OEMLINK_RETRY;
    return out;
  }
  Job job;
  size_t rejected =
      pipeline_.validate(conn, readings, future_reference_ms.value_or(now_ms), job.readings);
  if (rejected) out.status = OEMLINK_ERROR;
  if (job.readings.empty()) return out;
  // The driver's views are valid only during this call: copy what they point at.
  size_t bytes = 0;
  for (const auto& r : job.readings) bytes += r.name.size + r.text.size;
  job.text.reserve(bytes);
  job.offsets.reserve(job.readings.size());
  for (auto& r : job.readings) {
    size_t name_at = job.text.size();
    job.text.append(r.name.data, r.name.size);
    size_t text_at = job.text.size();
    if (r.text.size) job.text.append(r.text.data, r.text.size);
    job.offsets.emplace_back(name_at, text_at);
  }
  job.tag = tag;
  job.id = conn.id;
  job.vin = conn.vin;
  job.vehicle_token_id = conn.vehicle_token_id;
  job.synthetic_token_id = conn.synthetic_token_id;
  job.key_child = conn.key_child;
  job.now_ms = now_ms;
  {
    std::lock_guard lock(mu_);
    if (abandoned_all_) {
      out.status = OEMLINK_RETRY;
      return out;
    }
    jobs_.push_back(std::move(job));
    taken_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_one();
  out.queued = true;
  return out;
}

void SigningStage::forget(std::string connection_id) {
  {
    std::lock_guard lock(mu_);
    if (abandoned_all_) return;  // nothing more is built
    Job job;
    job.forget = true;
    job.id = std::move(connection_id);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void SigningStage::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

bool SigningStage::drain_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return jobs_.empty() && !busy_; });
}

size_t SigningStage::abandon() {
  std::lock_guard lock(mu_);
  abandoned_all_ = true;
  stop_ = true;
  const size_t n = static_cast<size_t>(
      std::count_if(jobs_.begin(), jobs_.end(), [](const Job& j) { return !j.forget; }));
  jobs_.clear();
  if (!busy_) idle_cv_.notify_all();
  return n;
}

void SigningStage::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) {
      if (stop_) return;
      continue;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    if (job.forget) {
      pipeline_.forget(job.id);
      lock.lock();
      busy_ = false;
      if (jobs_.empty()) idle_cv_.notify_all();
      continue;
    }
    for (size_t i = 0; i < job.readings.size(); ++i) {
      job.readings[i].name.data = job.text.data() + job.offsets[i].first;
      job.readings[i].text.data =
          job.readings[i].text.size ? job.text.data() + job.offsets[i].second : nullptr;
    }
    ConnectionIdentity conn{.id = job.id,
                            .vin = job.vin,
                            .vehicle_token_id = job.vehicle_token_id,
                            .synthetic_token_id = job.synthetic_token_id,
                            .key_child = job.key_child};
    // A full outbox or an unreachable signer is waited out, never dropped; the queue behind
    // this job fills meanwhile and submit() pushes back on the drivers.
    SubmitResult r;
    for (int attempt = 0;; ++attempt) {
      r = pipeline_.deliver_locked(conn, job.readings, job.now_ms);
      if (r.status != OEMLINK_RETRY) break;
      if (stop_ && attempt >= 1) {
        // Shutting down with the outbox full or the signer gone: this batch never became
        // durable, so its poll was never acknowledged either; the car is polled again on start.
        if (abandoned_++ == 0)
          spdlog::warn(
              "shutdown: batches that cannot be signed or stored now (outbox full or "
              "signer unavailable) are left to the next start's polls");
        r.receipt = 0;
        break;
      }
      if (!stop_) pause_(std::chrono::milliseconds(std::min(5 << std::min(attempt, 6), 200)));
    }
    if (settled_) settled_(job.tag, r.receipt);
    lock.lock();
    busy_ = false;
    if (jobs_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace oemlink::pipeline
