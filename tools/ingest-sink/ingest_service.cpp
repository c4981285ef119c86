#include "tools/ingest-sink/ingest_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace oemlink::ingest_sink {
namespace {

namespace http = boost::beast::http;

Reply text(unsigned status, std::string body) {
  return Reply{status, "text/plain", std::move(body) + "\n"};
}

Reply hang_up(std::chrono::milliseconds after) {
  Reply reply;
  reply.delay = after;
  reply.drop = true;
  return reply;
}

}  // namespace

Reply IngestService::handle(const HttpRequest& request, std::string_view client_cn) {
  const std::string_view target = request.target();
  if (target == "/stats") {
    if (request.method() != http::verb::get) return text(405, "use GET /stats");
    return Reply{200, "application/json", stats_json()};
  }
  if (target == "/" || target.starts_with("/?")) {
    if (request.method() != http::verb::post) return text(405, "use POST /");
    return ingest(request, client_cn);
  }
  return text(404, "not found: POST / or GET /stats");
}

Reply IngestService::ingest(const HttpRequest& request, std::string_view client_cn) {
  ++requests_;
  switch (faults_.next()) {
    case Fault::kNone:
      break;
    case Fault::kDown503:
      ++down_503_;
      return text(503, "ingest node starting (injected)");
    case Fault::kDrop:
      ++dropped_;
      return hang_up(std::chrono::milliseconds(0));
    case Fault::kStallThen500:
      ++stalled_;
      return Reply{500, "text/plain", "stalled (injected)\n", faults_.stall_time()};
    case Fault::kStallThenDrop:
      ++stalled_;
      return hang_up(faults_.stall_time());
    case Fault::kFail500:
      ++injected_500_;
      return text(500, "internal error (injected)");
    case Fault::kFail400:
      ++injected_400_;
      return text(400, "rejected (injected)");
  }

  const std::string& body = request.body();
  const Verdict verdict = validator_.check(
      body,
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()));
  if (!verdict.event) {
    ++rejected_400_;
    spdlog::info("400 from {}: {}", client_cn, verdict.reason);
    return text(400, verdict.reason);
  }
  // DIS replaces `source` with the certificate's CN; a sender whose configured source differs
  // from its certificate is almost certainly misconfigured, so say so.
  if (verdict.event->source != client_cn) {
    if (++source_mismatches_ == 1)
      spdlog::warn("event source {} differs from the client certificate CN {} (DIS uses the CN)",
                   verdict.event->source, client_cn);
  }
  if (store_.append(body, client_cn, *verdict.event))
    spdlog::warn("order violation: subject {} from {} went back in time", verdict.event->subject,
                 client_cn);
  return text(200, "ok");
}

std::string IngestService::stats_json() const {
  boost::json::object stats;
  stats["accepted"] = store_.accepted();
  stats["rejected_400"] = rejected_400_.load();
  stats["injected_400"] = injected_400_.load();
  stats["injected_500"] = injected_500_.load();
  stats["stalled"] = stalled_.load();
  stats["dropped"] = dropped_.load();
  stats["down_503"] = down_503_.load();
  stats["order_violations"] = store_.order_violations();
  stats["source_mismatches"] = source_mismatches_.load();
  stats["requests"] = requests_.load();
  stats["connections"] = server_ ? server_->connections() : 0;
  stats["handshake_failures"] = server_ ? server_->handshake_failures() : 0;
  return boost::json::serialize(stats) + "\n";
}

}  // namespace oemlink::ingest_sink
