// The sink's HTTP surface: POST / ingests one CloudEvent (after fault injection and DIS's
// validation), GET /stats reports counters as JSON.
#pragma once

#include "tools/ingest-sink/event_store.hpp"
#include "tools/ingest-sink/fault_injector.hpp"
#include "tools/ingest-sink/request_validator.hpp"
#include "tools/ingest-sink/tls_server.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace oemlink::ingest_sink {

class IngestService {
 public:
  IngestService(RequestValidator validator, FaultInjector& faults, EventStore& store)
      : validator_(std::move(validator)), faults_(faults), store_(store) {}

  // For the connection-level counters in /stats; set before serving.
  void attach(const TlsServer* server) { server_ = server; }

  Reply handle(const HttpRequest& request, std::string_view client_cn);

  // The /stats document.
  std::string stats_json() const;

 private:
  Reply ingest(const HttpRequest& request, std::string_view client_cn);

  RequestValidator validator_;
  FaultInjector& faults_;
  EventStore& store_;
  const TlsServer* server_ = nullptr;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> rejected_400_{0};
  std::atomic<uint64_t> injected_400_{0};
  std::atomic<uint64_t> injected_500_{0};
  std::atomic<uint64_t> stalled_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> down_503_{0};
  std::atomic<uint64_t> source_mismatches_{0};
};

}  // namespace oemlink::ingest_sink
