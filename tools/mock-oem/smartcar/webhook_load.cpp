#include "tools/mock-oem/smartcar/webhook_load.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace oemlink::mock_oem::smartcar {

namespace {

using Clock = std::chrono::steady_clock;

size_t discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

struct Slot {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  Clock::time_point scheduled;
  bool busy = false;
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

}  // namespace

LoadReport run_load(Delivery& delivery, const SendOptions& send, const LoadOptions& load) {
  CURLM* multi = curl_multi_init();
  if (!multi) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(load.concurrency));
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(load.concurrency));
  std::vector<Slot> slots(static_cast<size_t>(load.concurrency));
  for (auto& s : slots) {
    s.easy = curl_easy_init();
    if (!s.easy) throw std::runtime_error("curl_easy_init failed");
  }

  LoadReport report;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(load.count));
  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / load.rate);
  int64_t next = 0, in_flight = 0;

  auto launch = [&](Slot& s, Clock::time_point scheduled) {
    delivery.set_event_id(random_uuid());
    if (!load.vehicle_ids.empty())
      delivery.set_vehicle_id(
          load.vehicle_ids[static_cast<size_t>(report.sent) % load.vehicle_ids.size()]);
    std::string delivery_id;
    auto [signature, body] = sign_for_sending(delivery.body_for_attempt(delivery_id), send);
    s.body = std::move(body);
    curl_slist_free_all(s.headers);
    s.headers = curl_slist_append(nullptr, "Content-Type: application/json");
    s.headers = curl_slist_append(s.headers, ("SC-Signature: " + signature).c_str());
    s.headers = curl_slist_append(s.headers, "Expect:");
    curl_easy_setopt(s.easy, CURLOPT_URL, send.url.c_str());
    curl_easy_setopt(s.easy, CURLOPT_POST, 1L);
    curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, s.body.data());
    curl_easy_setopt(s.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(s.body.size()));
    curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, s.headers);
    curl_easy_setopt(s.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(send.timeout.count()));
    curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
    s.scheduled = scheduled;
    s.busy = true;
    curl_multi_add_handle(multi, s.easy);
    ++in_flight;
    ++report.sent;
  };

  while (next < load.count || in_flight > 0) {
    const auto now = Clock::now();
    // Start every delivery whose time has come, as far as free connections allow.
    for (auto& s : slots) {
      if (next >= load.count) break;
      const auto scheduled =
          start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(next));
      if (scheduled > now) break;
      if (s.busy) continue;
      launch(s, scheduled);
      ++next;
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* s = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&s));
      long status = 0;
      std::string key;
      if (msg->data.result == CURLE_OK) {
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        key = std::to_string(status);
      } else {
        key = msg->data.result == CURLE_OPERATION_TIMEDOUT ? "timeout" : "error";
      }
      ++report.statuses[key];
      if (status >= 200 && status < 300) {
        ++report.ok;
        latencies.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - s->scheduled).count());
      } else {
        ++report.failed;
      }
      curl_multi_remove_handle(multi, msg->easy_handle);
      s->busy = false;
      --in_flight;
    }
    // Sleep until the next scheduled send or socket activity, whichever is first.
    int wait_ms = 100;
    if (next < load.count) {
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(next));
      // Rounded up: a wait rounded down to 0 ms would spin until the send is due (at 1,000/s
      // that is every gap, and the sender burned a core). A send at most 1 ms late is charged to
      // the receiver's latency, which is measured from the scheduled time.
      const auto left_us =
          std::chrono::duration_cast<std::chrono::microseconds>(due - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>((left_us + 999) / 1000, 0, 100));
      // Due but every connection busy: wait for an answer rather than spin.
      if (wait_ms == 0 && in_flight >= load.concurrency) wait_ms = 100;
    }
    if (wait_ms > 0 || in_flight > 0) curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.achieved_rate = report.seconds > 0 ? static_cast<double>(report.ok) / report.seconds : 0;
  std::sort(latencies.begin(), latencies.end());
  report.p50_ms = percentile(latencies, 0.50);
  report.p90_ms = percentile(latencies, 0.90);
  report.p99_ms = percentile(latencies, 0.99);
  report.max_ms = latencies.empty() ? 0 : latencies.back();
  for (auto& s : slots) {
    curl_easy_cleanup(s.easy);
    curl_slist_free_all(s.headers);
  }
  curl_multi_cleanup(multi);
  return report;
}

}  // namespace oemlink::mock_oem::smartcar
