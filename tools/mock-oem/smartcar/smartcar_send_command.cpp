// oemlink-mock-oem smartcar-send: signed Smartcar webhook deliveries (options in ../README.md).
#include "tools/mock-oem/mock_commands.hpp"
#include "tools/mock-oem/smartcar/cli_args.hpp"
#include "tools/mock-oem/smartcar/webhook_load.hpp"
#include "tools/mock-oem/smartcar/webhook_payload.hpp"
#include "tools/mock-oem/smartcar/webhook_sender.hpp"

#include <curl/curl.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace oemlink::mock_oem {

namespace {

constexpr const char* kUsage =
    R"(usage: oemlink-mock-oem smartcar-send --url U --amt KEY [options] [FILE]
  FILE                        the payload to deliver (or --generate)
  --url U                     the receiver (e.g. http://127.0.0.1:8080/webhooks/smartcar)
  --amt KEY                   the Application Management Token that signs (SC-Signature)
  --amt-file F                read the AMT from a file instead (trailing newline dropped)
  --generate KIND             vehicle_state | verify | vehicle_error instead of FILE
  --vehicle ID                the vehicle of a generated payload           [00000000-0000-4000-8000-0000000000aa]
  --trigger-shape real|docs   vehicle_state triggers: top-level (real) or data.triggers (docs)  [real]
  --verbatim                  send FILE's bytes unchanged (no fresh deliveryId/deliveredAt)
  --forge                     sign with a wrong key
  --truncate                  drop the body's last byte after signing
  --replay                    after a 2xx, deliver the same eventId once more
  --retry-delays-ms A,B,C     waits before the retries                     [25000,50000,100000]
  --timeout-ms N              an answer must come within this              [15000]
  --count N --rate R          load mode: N deliveries, distinct eventIds, R per second
  --concurrency C             load mode: connections in flight             [64]
  --vehicle-ids F             load mode: delivery k names vehicle k mod n of F (one id a line)
Output, one line each: attempt=N status=S ms=T deliveryId=D [error=E]; replay=...; verify=ok|mismatch;
result=delivered|dropped eventId=E attempts=N. Load mode: one line sent=.. ok=.. failed=..
statuses=200:N,... seconds=.. rate=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
Exit: 0 delivered (and VERIFY answered right), 1 dropped (or load mode had failures),
3 VERIFY answered wrong, 2 bad usage or input.
)";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot open");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::chrono::milliseconds> parse_delays(const std::string& text) {
  std::vector<std::chrono::milliseconds> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
    }
    if (used != item.size() || v < 0)
      throw std::invalid_argument("--retry-delays-ms: \"" + item + "\" is not a delay in ms");
    out.emplace_back(v);
  }
  return out;
}

void print_attempt(const smartcar::Attempt& a, bool replay) {
  std::printf("%s=%d status=%ld ms=%.1f deliveryId=%s", replay ? "replay" : "attempt", a.number,
              a.status, a.ms, a.delivery_id.empty() ? "-" : a.delivery_id.c_str());
  if (!a.error.empty()) std::printf(" error=\"%s\"", a.error.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int run_smartcar_send(int argc, char** argv) {
  smartcar::SendOptions send;
  smartcar::LoadOptions load;
  bool load_mode = false, verbatim = false;
  std::string file, vehicle = "00000000-0000-4000-8000-0000000000aa";
  std::optional<smartcar::PayloadKind> generate;
  smartcar::TriggerShape shape = smartcar::TriggerShape::real;
  std::optional<smartcar::Delivery> delivery;
  try {
    smartcar::CliArgs args(argc, argv);
    while (!args.done()) {
      const std::string name = args.next();
      if (name == "--help" || name == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (name == "--url")
        send.url = args.value();
      else if (name == "--amt")
        send.amt = args.value();
      else if (name == "--amt-file") {
        send.amt = slurp(args.value());
        while (!send.amt.empty() && (send.amt.back() == '\n' || send.amt.back() == '\r'))
          send.amt.pop_back();
      } else if (name == "--generate") {
        const std::string kind = args.value();
        generate = smartcar::parse_payload_kind(kind);
        if (!generate)
          throw std::invalid_argument(
              "--generate must be vehicle_state, verify or vehicle_error, got \"" + kind + "\"");
      } else if (name == "--vehicle")
        vehicle = args.value();
      else if (name == "--trigger-shape") {
        const std::string s = args.value();
        if (s == "real")
          shape = smartcar::TriggerShape::real;
        else if (s == "docs")
          shape = smartcar::TriggerShape::docs;
        else
          throw std::invalid_argument("--trigger-shape must be real or docs, got \"" + s + "\"");
      } else if (name == "--verbatim")
        verbatim = true;
      else if (name == "--forge")
        send.tamper = smartcar::Tamper::forge;
      else if (name == "--truncate")
        send.tamper = smartcar::Tamper::truncate;
      else if (name == "--replay")
        send.replay = true;
      else if (name == "--retry-delays-ms")
        send.retry_delays = parse_delays(args.value());
      else if (name == "--timeout-ms")
        send.timeout = std::chrono::milliseconds(args.integer(1, 3'600'000));
      else if (name == "--count")
        load.count = args.integer(1, 1LL << 40), load_mode = true;
      else if (name == "--rate")
        load.rate = args.number(0.001, 1e7), load_mode = true;
      else if (name == "--concurrency")
        load.concurrency = static_cast<int>(args.integer(1, 4096));
      else if (name == "--vehicle-ids") {
        const std::string path = args.value();
        std::stringstream in(slurp(path));
        for (std::string id; std::getline(in, id);) {
          while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
          if (!id.empty()) load.vehicle_ids.push_back(id);
        }
        if (load.vehicle_ids.empty())
          throw std::invalid_argument("--vehicle-ids: " + path + " has no vehicle id");
      } else if (name.rfind("--", 0) == 0)
        args.unknown();
      else if (file.empty())
        file = name;
      else
        throw std::invalid_argument("one payload FILE only (got \"" + file + "\" and \"" + name +
                                    "\")");
    }
    if (send.url.empty()) throw std::invalid_argument("--url is required");
    if (send.amt.empty()) throw std::invalid_argument("--amt (or --amt-file) is required");
    if (file.empty() == !generate.has_value())
      throw std::invalid_argument("give either a payload FILE or --generate KIND");
    const std::string raw =
        generate ? smartcar::generate_payload(*generate, vehicle, shape) : slurp(file);
    try {
      delivery.emplace(raw, verbatim);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(file + ": " + e.what());
    }
    if (load_mode && send.replay)
      throw std::invalid_argument("--replay does not apply to load mode");
    if (!load.vehicle_ids.empty() && !load_mode)
      throw std::invalid_argument("--vehicle-ids applies to load mode (--count/--rate) only");
    if (!load.vehicle_ids.empty() && !delivery->names_vehicle())
      throw std::invalid_argument(
          (file.empty() ? std::string("the generated payload") : file) +
          ": --vehicle-ids needs a 4.0 payload with data.vehicle or vehicleId");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-mock-oem smartcar-send: %s\n", e.what());
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (load_mode) {
    const auto r = smartcar::run_load(*delivery, send, load);
    std::string statuses;
    for (const auto& [status, n] : r.statuses)
      statuses += (statuses.empty() ? "" : ",") + status + ":" + std::to_string(n);
    std::printf(
        "sent=%lld ok=%lld failed=%lld statuses=%s seconds=%.3f rate=%.1f p50_ms=%.2f p90_ms=%.2f "
        "p99_ms=%.2f max_ms=%.2f\n",
        static_cast<long long>(r.sent), static_cast<long long>(r.ok),
        static_cast<long long>(r.failed), statuses.empty() ? "-" : statuses.c_str(), r.seconds,
        r.achieved_rate, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
    curl_global_cleanup();
    return r.failed == 0 ? 0 : 1;
  }

  const auto outcome = smartcar::send_delivery(*delivery, send, &print_attempt);
  if (outcome.verify_ok) std::printf("verify=%s\n", *outcome.verify_ok ? "ok" : "mismatch");
  const std::string event_id = delivery->event_id();
  std::printf("result=%s eventId=%s attempts=%zu\n", outcome.delivered ? "delivered" : "dropped",
              event_id.empty() ? "-" : event_id.c_str(), outcome.attempts.size());
  std::fflush(stdout);
  curl_global_cleanup();
  if (!outcome.delivered) return 1;
  return outcome.verify_ok == false ? 3 : 0;
}

}  // namespace oemlink::mock_oem
