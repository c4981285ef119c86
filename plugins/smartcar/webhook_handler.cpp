#include "webhook_handler.hpp"

#include "json_fields.hpp"
#include "signal_mapper.hpp"
#include "v2_responses.hpp"
#include "webhook_verifier.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <strings.h>

#include <utility>
#include <vector>

namespace oemlink::smartcar {
namespace {

using boost::json::value;

std::string_view header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

std::string message(std::string_view text) {
  return boost::json::serialize(boost::json::object{{"error", text}});
}

// The challenge is echoed back as HMAC(amt, challenge): a signing oracle for any text an
// unauthenticated caller chooses. A delivery this handler accepts is a JSON object, so its body
// contains '{'; refusing challenges with '{' (and anything but printable ASCII) means no answer
// can ever be a valid SC-Signature for a delivery.
bool challenge_acceptable(std::string_view c) {
  if (c.empty() || c.size() > 1024) return false;
  for (char ch : c)
    if (ch <= 0x20 || ch >= 0x7f || ch == '{') return false;
  return true;
}

// A readable vehicle id for an answer or a log line: bounded, printable.
std::string shown(std::string_view id) {
  std::string out;
  for (char c : id.substr(0, 80)) out.push_back(c > 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

void WebhookHandler::log_limited(oemlink_log_level level, std::string line) {
  uint64_t left_out = 0;
  {
    std::lock_guard lock(log_mu_);
    const int64_t minute = ctx_->host.now_ms() / 60'000;
    if (minute != log_minute_) {
      log_minute_ = minute;
      logged_ = 0;
    }
    if (logged_ >= kLimitedLogsPerMinute) {
      ++left_out_;
      return;
    }
    ++logged_;
    left_out = std::exchange(left_out_, 0);
  }
  if (left_out)
    line += " (" + std::to_string(left_out) +
            " more such line(s) left out before this one; the webhook_* counters have them all)";
  ctx_->host.log(level, line);
}

void WebhookHandler::reject(int code, std::string_view counter, std::string_view why,
                            const Respond& respond) {
  ctx_->host.count(counter);
  log_limited(code >= 500 ? OEMLINK_LOG_WARN : OEMLINK_LOG_INFO,
              "smartcar webhook: answered " + std::to_string(code) + ": " + std::string(why));
  respond(code, message(why));
}

void WebhookHandler::handle(const HttpRequest& req, const Respond& respond) {
  bool answered = false;
  const Respond once = [&](int code, std::string_view body) {
    if (answered) return;
    answered = true;
    respond(code, body);
  };
  try {
    ctx_->host.count("webhook_requests");
    if (req.method != "POST")
      return reject(405, "webhook_bad_method", "only POST is accepted", once);
    const std::string_view signature = header(req, "SC-Signature");
    if (ctx_->settings->amt.empty())
      return reject(401, "webhook_no_amt",
                    "the driver has no application management token (setting amt) to verify "
                    "deliveries with",
                    once);
    if (!signature.empty()) {
      // Checked on the raw bytes before anything reads them.
      if (!signature_valid(ctx_->settings->amt, req.body, signature))
        return reject(401, "webhook_bad_signature", "SC-Signature does not match the body", once);
    } else if (req.body.find("VERIFY") == std::string::npos &&
               req.body.find("verify") == std::string::npos) {
      // Only a VERIFY handshake may come unsigned; nothing else is even parsed.
      return reject(401, "webhook_unsigned", "SC-Signature header missing", once);
    }
    dispatch(req, signature, once);
  } catch (const std::exception& e) {
    ctx_->host.count("webhook_internal_errors");
    ctx_->host.log(OEMLINK_LOG_ERROR, std::string("smartcar webhook: internal error: ") + e.what());
    once(500, message("internal error"));
  } catch (...) {
    ctx_->host.count("webhook_internal_errors");
    once(500, message("internal error"));
  }
}

void WebhookHandler::dispatch(const HttpRequest& req, std::string_view signature,
                              const Respond& respond) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 64;
  // The document lives only for this delivery: its ~200 nodes go into a stack arena (larger
  // bodies spill to the heap) instead of one malloc and free each. Measured: HMAC + parse of the
  // 4 KB example 16.2 -> 11.9 us (BM_WebhookHmacAndParse in tools/bench/kernels_bench.cpp).
  unsigned char arena[16384];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  value doc = boost::json::parse(req.body, ec, &resource, opts);
  if (ec || !doc.is_object())
    return reject(400, "webhook_malformed",
                  ec ? "body is not JSON (" + ec.message() + ")" : "body is not a JSON object",
                  respond);

  const std::string_view event_type = json::text(&doc, "eventType");
  const std::string_view event_name = json::text(&doc, "eventName");
  const bool is_verify = event_type == "VERIFY" || event_name == "verify";
  if (signature.empty() && !is_verify)
    return reject(401, "webhook_unsigned", "SC-Signature header missing", respond);

  if (event_type == "VERIFY") {
    auto c = json::string(json::member(json::member(&doc, "data"), "challenge"));
    return verify_challenge(c.value_or(std::string_view()), respond);
  }
  if (event_name == "verify") {
    auto c = json::string(json::member(json::member(&doc, "payload"), "challenge"));
    return verify_challenge(c.value_or(std::string_view()), respond);
  }
  if (event_type == "VEHICLE_STATE") return vehicle_state(doc, respond);
  if (event_type == "VEHICLE_ERROR") return vehicle_error(doc, respond);
  if (!event_name.empty() && json::member(&doc, "payload")) return legacy(doc, signature, respond);
  if (!event_type.empty()) {
    // A new event type must not make Smartcar retry and give up on us: acknowledged, counted,
    // logged (there is no reading in it we know how to store).
    ctx_->host.count("webhook_unknown_events");
    ctx_->host.log(OEMLINK_LOG_WARN, "smartcar webhook: event type '" + shown(event_type) +
                                         "' is not handled; acknowledged");
    return respond(200, message("event type not handled"));
  }
  reject(400, "webhook_malformed", "neither a payload 4.0 (eventType) nor a 2.0 (eventName) body",
         respond);
}

void WebhookHandler::verify_challenge(std::string_view challenge, const Respond& respond) {
  if (!challenge_acceptable(challenge))
    return reject(400, "webhook_bad_challenge",
                  "VERIFY challenge missing, too long, or not printable ASCII without '{'",
                  respond);
  ctx_->host.count("webhook_verify");
  log_limited(OEMLINK_LOG_INFO, "smartcar webhook: answered a VERIFY challenge");
  respond(200, boost::json::serialize(boost::json::object{
                   {"challenge", hmac_sha256_hex(ctx_->settings->amt, challenge)}}));
}

void WebhookHandler::vehicle_state(const value& doc, const Respond& respond) {
  const value* data = json::member(&doc, "data");
  const std::string_view event_id = json::text(&doc, "eventId");
  std::string_view vehicle_id = json::text(json::member(data, "vehicle"), "id");
  if (vehicle_id.empty()) vehicle_id = json::text(&doc, "vehicleId");
  const boost::json::array* signals = json::array(json::member(data, "signals"));
  if (event_id.empty())
    return reject(400, "webhook_malformed", "VEHICLE_STATE without eventId", respond);
  if (vehicle_id.empty())
    return reject(400, "webhook_malformed", "VEHICLE_STATE without data.vehicle.id", respond);
  if (!signals)
    return reject(400, "webhook_malformed", "VEHICLE_STATE without a data.signals list", respond);

  // Triggers come top-level ({type, signal:{code}}) in real deliveries and as data.triggers
  // ({code}) in the docs; they only say why Smartcar sent it (every subscribed signal is in
  // data.signals either way), so they are counted, not mapped.
  uint64_t triggers = 0;
  for (const value* t : {json::member(&doc, "triggers"), json::member(data, "triggers")})
    if (const boost::json::array* a = json::array(t)) triggers += a->size();
  if (triggers) ctx_->host.count("webhook_triggers", triggers);

  switch (ctx_->dedupe.claim(event_id)) {
    case EventIdDedupe::Claim::duplicate:
      ctx_->host.count("webhook_duplicates");
      return respond(200, message("duplicate eventId: already stored"));
    case EventIdDedupe::Claim::in_flight:
      return reject(503, "webhook_in_flight", "this eventId is being stored right now; retry",
                    respond);
    case EventIdDedupe::Claim::claimed:
      break;
  }

  const int64_t now = ctx_->host.now_ms();
  std::vector<oemlink_reading> readings;
  MapStats stats;
  for (const value& s : *signals) map_signal(s, now, readings, stats);

  oemlink_status emitted = OEMLINK_OK;
  const bool known = ctx_->registry.with(vehicle_id, [&](oemlink_conn* conn) {
    if (!readings.empty()) emitted = ctx_->host.emit(conn, readings);
    if (stats.rejected)
      ctx_->host.log(OEMLINK_LOG_WARN,
                     "smartcar webhook: vehicle " + shown(vehicle_id) + ": " +
                         std::to_string(stats.rejected) +
                         " value(s) rejected, first: " + stats.first_rejection,
                     conn);
  });
  if (!known) {
    ctx_->dedupe.release(event_id);
    return reject(404, "webhook_unknown_vehicle",
                  "vehicle " + shown(vehicle_id) + " is not a configured connection", respond);
  }
  if (stats.skipped_status) ctx_->host.count("signals_skipped_status", stats.skipped_status);
  if (stats.unmapped) ctx_->host.count("signals_unmapped", stats.unmapped);
  if (stats.empty) ctx_->host.count("signals_empty", stats.empty);
  if (stats.rejected) ctx_->host.count("signals_rejected", stats.rejected);
  if (emitted == OEMLINK_RETRY) {
    ctx_->dedupe.release(event_id);
    return reject(503, "webhook_backpressure", "the host is applying back-pressure; retry",
                  respond);
  }
  ctx_->dedupe.commit(event_id);
  ctx_->host.count("webhook_events");
  ctx_->host.count("readings_emitted", readings.size());
  respond(200, boost::json::serialize(
                   boost::json::object{{"stored", static_cast<uint64_t>(readings.size())}}));
}

void WebhookHandler::vehicle_error(const value& doc, const Respond& respond) {
  const value* data = json::member(&doc, "data");
  std::string_view vehicle_id = json::text(json::member(data, "vehicle"), "id");
  if (vehicle_id.empty()) vehicle_id = json::text(&doc, "vehicleId");
  const boost::json::array* errors = json::array(json::member(data, "errors"));
  if (vehicle_id.empty() || !errors)
    return reject(400, "webhook_malformed", "VEHICLE_ERROR without data.vehicle.id or data.errors",
                  respond);

  // One state for the delivery: re-auth beats a failure beats resolved. Errors about single
  // signals the car does not support change no state: its other signals still flow.
  oemlink_conn_state state = OEMLINK_STATE_OK;
  std::string reason;
  bool report = false;
  for (const value& e : *errors) {
    const std::string what =
        std::string(json::text(&e, "type")) + ":" + std::string(json::text(&e, "code"));
    const std::string_view description = json::text(&e, "description");
    const std::string line = "smartcar VEHICLE_ERROR " + shown(what) +
                             (description.empty() ? "" : ": " + shown(description));
    const value* resolution = json::member(&e, "resolution");
    const boost::json::array* sigs = json::array(json::member(&e, "signals"));
    if (json::text(&e, "state") == "RESOLVED") {
      if (state == OEMLINK_STATE_OK) reason = "resolved: " + line;
      report = true;
    } else if (json::text(resolution, "type") == "REAUTHENTICATE") {
      std::string url(json::text(resolution, "url"));
      if (url.empty()) url = ctx_->reauth_url(vehicle_id);
      state = OEMLINK_STATE_NEEDS_REAUTH;
      reason = "the owner must re-authenticate the vehicle at " + shown(url) + " (" + line + ")";
      report = true;
    } else if (json::text(&e, "type") == "COMPATIBILITY" && sigs && !sigs->empty()) {
      ctx_->host.count("webhook_signal_errors");
    } else if (state != OEMLINK_STATE_NEEDS_REAUTH) {
      state = OEMLINK_STATE_FAILED;
      reason = line;
      report = true;
    }
  }
  const bool known = ctx_->registry.with(vehicle_id, [&](oemlink_conn* conn) {
    if (report) ctx_->host.report_state(conn, state, 0, reason);
  });
  if (!known)
    return reject(404, "webhook_unknown_vehicle",
                  "vehicle " + shown(vehicle_id) + " is not a configured connection", respond);
  ctx_->host.count("webhook_vehicle_errors");
  respond(200, message("vehicle error recorded"));
}

void WebhookHandler::legacy(const value& doc, std::string_view signature, const Respond& respond) {
  const boost::json::array* vehicles =
      json::array(json::member(json::member(&doc, "payload"), "vehicles"));
  if (!vehicles) return reject(400, "webhook_malformed", "2.0 payload without vehicles", respond);
  const int64_t now = ctx_->host.now_ms();
  size_t known = 0, stored = 0, unknown = 0;
  for (const value& v : *vehicles) {
    const std::string_view vehicle_id = json::text(&v, "vehicleId");
    const boost::json::array* data = json::array(json::member(&v, "data"));
    if (vehicle_id.empty() || !data) {
      ctx_->host.count("webhook_malformed");
      continue;
    }
    // 2.0 has no eventId; requestId is per vehicle and stable across retries, and failing that
    // the signature is (a retry re-sends the same bytes).
    const std::string_view request_id = json::text(&v, "requestId");
    const std::string key =
        request_id.empty() ? "2.0/sig/" + std::string(signature) + "/" + std::string(vehicle_id)
                           : "2.0/" + std::string(request_id);
    std::vector<oemlink_reading> readings;
    MapStats stats;
    map_v2_responses(*data, UnitSystem::metric, now, readings, stats);
    const auto claim = ctx_->dedupe.claim(key);
    if (claim == EventIdDedupe::Claim::in_flight)
      return reject(503, "webhook_in_flight", "this delivery is being stored right now; retry",
                    respond);
    oemlink_status emitted = OEMLINK_OK;
    const bool found = ctx_->registry.with(vehicle_id, [&](oemlink_conn* conn) {
      if (claim == EventIdDedupe::Claim::claimed && !readings.empty())
        emitted = ctx_->host.emit(conn, readings);
    });
    if (!found) {
      if (claim == EventIdDedupe::Claim::claimed) ctx_->dedupe.release(key);
      ++unknown;
      ctx_->host.count("webhook_unknown_vehicle");
      continue;
    }
    ++known;
    if (claim == EventIdDedupe::Claim::duplicate) {
      ctx_->host.count("webhook_duplicates");
      continue;
    }
    if (emitted == OEMLINK_RETRY) {
      ctx_->dedupe.release(key);
      return reject(503, "webhook_backpressure", "the host is applying back-pressure; retry",
                    respond);
    }
    ctx_->dedupe.commit(key);
    stored += readings.size();
    if (stats.rejected) ctx_->host.count("signals_rejected", stats.rejected);
    if (stats.skipped_status) ctx_->host.count("signals_skipped_status", stats.skipped_status);
  }
  if (known == 0 && unknown > 0)
    return reject(404, "webhook_unknown_vehicle_deliveries",
                  "no vehicle of this delivery is a configured connection", respond);
  ctx_->host.count("webhook_events");
  ctx_->host.count("readings_emitted", stored);
  respond(200,
          boost::json::serialize(boost::json::object{{"stored", static_cast<uint64_t>(stored)}}));
}

}  // namespace oemlink::smartcar
