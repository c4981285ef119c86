#include "core/pipeline/event_builder.hpp"

#include "core/common/abi_text.hpp"
#include "core/pipeline/json_writer.hpp"

#include <algorithm>
#include <cmath>

namespace oemlink::pipeline {
namespace {

void append_value(std::string& out, const oemlink_reading& r) {
  switch (r.kind) {
    case OEMLINK_VALUE_STRING:
      append_json_string(out, abi_view(r.text));
      return;
    case OEMLINK_VALUE_LOCATION:
      out += "{\"latitude\":";
      append_json_number(out, r.latitude);
      out += ",\"longitude\":";
      append_json_number(out, r.longitude);
      if (!std::isnan(r.hdop)) {
        out += ",\"hdop\":";
        append_json_number(out, r.hdop);
      }
      out.push_back('}');
      return;
    default:
      append_json_number(out, r.number);
  }
}

}  // namespace

EventBuilder::EventBuilder(EnvelopeSettings settings, DataSigner* signer)
    : settings_(std::move(settings)), signer_(signer) {
  std::string chain = std::to_string(settings_.chain_id);
  producer_prefix_ = "did:erc721:" + chain + ":" + settings_.synthetic_device_contract + ":";
  subject_prefix_ = "did:erc721:" + chain + ":" + settings_.vehicle_contract + ":";
}

void EventBuilder::forget(std::string_view connection_id) {
  if (auto it = last_time_.find(std::string(connection_id)); it != last_time_.end())
    last_time_.erase(it);
}

Event EventBuilder::build(const ConnectionIdentity& conn, std::span<const oemlink_reading> readings,
                          int64_t now_ms) {
  Event ev;
  ev.connection_id = std::string(conn.id);
  for (const auto& r : readings) ev.time_ms = std::max(ev.time_ms, r.timestamp_ms);
  int64_t& last = last_time_[ev.connection_id];
  // Never back, but never held more than kMaxHeldAheadMs ahead of true time either.
  const int64_t held = std::min(last, now_ms + kMaxHeldAheadMs);
  ev.time_ms = last = std::max(held, ev.time_ms);
  ev.id = ids_.next(ev.time_ms);

  std::string& j = ev.json;
  j.reserve(512 + 112 * readings.size());
  j += "{\"specversion\":\"1.0\",\"id\":\"";
  j += ev.id;
  j += "\",\"source\":";
  append_json_string(j, settings_.source);
  j += ",\"producer\":\"";
  ev.producer_offset = static_cast<uint32_t>(j.size());
  j += producer_prefix_;
  append_json_uint(j, conn.synthetic_token_id);
  ev.producer_size = static_cast<uint32_t>(j.size() - ev.producer_offset);
  j += "\",\"subject\":\"";
  ev.subject_offset = static_cast<uint32_t>(j.size());
  j += subject_prefix_;
  append_json_uint(j, conn.vehicle_token_id);
  ev.subject_size = static_cast<uint32_t>(j.size() - ev.subject_offset);
  j += "\",\"type\":\"dimo.status\",\"time\":";
  append_rfc3339_ms(j, ev.time_ms);
  j += ",\"dataversion\":\"default/v1.0\",\"datacontenttype\":\"application/json\"";

  // data: serialized exactly once, in place; these bytes are signed and never re-encoded.
  // (`signature` follows `data`: member order means nothing in JSON, and writing data first
  // saves copying it.)
  j += ",\"data\":";
  ev.data_offset = j.size();
  j += "{\"signals\":[";
  for (size_t i = 0; i < readings.size(); ++i) {
    const auto& r = readings[i];
    if (i) j.push_back(',');
    j += "{\"name\":";
    append_json_string(j, abi_view(r.name));
    j += ",\"timestamp\":";
    // A batch's readings mostly share a timestamp (one OEM snapshot): format each time once.
    if (r.timestamp_ms != last_ts_ || last_ts_text_.empty()) {
      last_ts_text_.clear();
      append_rfc3339_ms(last_ts_text_, r.timestamp_ms);
      last_ts_ = r.timestamp_ms;
    }
    j += last_ts_text_;
    j += ",\"value\":";
    append_value(j, r);
    j.push_back('}');
  }
  j.push_back(']');
  if (!conn.vin.empty()) {
    j += ",\"vin\":";
    append_json_string(j, conn.vin);
  }
  j.push_back('}');
  ev.data_size = j.size() - ev.data_offset;
  if (signer_) {
    std::string sig = signer_->sign(conn.key_child, ev.data());
    j += ",\"signature\":\"";
    j += sig;
    j.push_back('"');
  }
  j.push_back('}');
  return ev;
}

}  // namespace oemlink::pipeline
