// The mock Smartcar's HTTP surface: Connect's consent (authorize, decision), token endpoint,
// account API (v2 /user, /vehicles), v3 vehicle API, legacy v2 API (single reads
// and /batch), the control API (/mock/...) and /stats. One lock serialises the state; the
// mock's throughput is not what is under test.
#pragma once

#include "tools/mock-oem/common/mock_http_server.hpp"
#include "tools/mock-oem/smartcar/api_error.hpp"
#include "tools/mock-oem/smartcar/connect_consent.hpp"
#include "tools/mock-oem/smartcar/fault_injector.hpp"
#include "tools/mock-oem/smartcar/fleet.hpp"
#include "tools/mock-oem/smartcar/rate_bucket.hpp"
#include "tools/mock-oem/smartcar/token_ledger.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::mock_oem::smartcar {

struct ServiceOptions {
  std::string client_id = "mock-client-id";
  std::string client_secret = "mock-client-secret";
  TokenPolicy tokens;
  std::vector<std::string> refresh_tokens, access_tokens, auth_codes;
  int page_size = 50;
  double bucket_capacity = 120;  // 0: no bucket
  double bucket_refill_per_minute = 2;
  int64_t monthly_quota = -1;  // per vehicle, unless the vehicles file says otherwise
  std::chrono::milliseconds latency{0};
  std::vector<FaultRule> faults;
  std::string public_url;  // base of links.self/next; empty: http://<Host header>
  // POST /mock/webhook-sink checks SC-Signature with this AMT: a reference receiver that
  // measures the sender's own ceiling. Empty: the sink answers 404.
  std::string sink_amt;
};

class SmartcarService {
 public:
  SmartcarService(ServiceOptions options, Fleet fleet);
  Reply handle(const Request& request);

 private:
  using Clock = std::chrono::steady_clock;
  struct Route;
  struct VehicleCounters {
    uint64_t reads = 0, billed = 0, errors = 0;
    std::map<std::string, uint64_t> by_endpoint;
  };

  Reply route(const Request& request, Route& r);
  Reply token(const Request& request, Route& r);
  Reply account_api(const Request& request, Route& r);
  Reply vehicle_api(const Request& request, Route& r);
  Reply v3(const Request& request, Route& r, VehicleSpec& vehicle);
  Reply v2(const Request& request, Route& r, VehicleSpec& vehicle);
  Reply control(const Request& request, Route& r);
  Reply webhook_sink(const Request& request, Route& r);
  boost::json::object stats();
  Reply error(Route& r, ApiError e, ErrorShape shape);

  ServiceOptions options_;
  std::mutex mutex_;
  Fleet fleet_;
  TokenLedger tokens_;
  ConnectConsent consent_;
  RateBucket bucket_;
  FaultInjector faults_;
  std::map<std::string, std::map<unsigned, uint64_t>> requests_;  // endpoint -> status -> n
  std::map<std::string, VehicleCounters> vehicles_;
  // Every vehicle request (faulted ones too), when and how answered: a test checks the client's
  // timing (no request inside a Retry-After, back-off gaps) on the mock's own clock.
  struct Served {
    int64_t at_ms;  // since the mock started
    std::string route;
    unsigned status;
  };
  static constexpr size_t kServedKept = 10000;  // per vehicle, the newest
  std::map<std::string, std::vector<Served>> served_;
  Clock::time_point started_ = Clock::now();
  uint64_t sink_verified_ = 0, sink_refused_ = 0;
};

}  // namespace oemlink::mock_oem::smartcar
