#include "core/pipeline/event_builder.hpp"

#include "core/pipeline/json_writer.hpp"

#include <algorithm>
#include <cmath>

namespace oemlink::pipeline {
namespace {

std::string_view view(oemlink_str s) {
  return s.data ? std::string_view(s.data, s.size) : "";
}

void append_value(std::string& out, const oemlink_reading& r) {
  switch (r.kind) {
    case OEMLINK_VALUE_STRING:
      append_json_string(out, view(r.text));
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

Event EventBuilder::build(const ConnectionIdentity& conn,
                          std::span<const oemlink_reading> readings) {
  Event ev;
  ev.connection_id = std::string(conn.id);
  for (const auto& r : readings) ev.time_ms = std::max(ev.time_ms, r.timestamp_ms);
  ev.id = ids_.next(ev.time_ms);

  // data: serialized exactly once; these bytes are signed and embedded unchanged.
  data_.clear();
  data_ += "{\"signals\":[";
  for (size_t i = 0; i < readings.size(); ++i) {
    const auto& r = readings[i];
    if (i) data_.push_back(',');
    data_ += "{\"name\":";
    append_json_string(data_, view(r.name));
    data_ += ",\"timestamp\":";
    append_rfc3339_ms(data_, r.timestamp_ms);
    data_ += ",\"value\":";
    append_value(data_, r);
    data_.push_back('}');
  }
  data_.push_back(']');
  if (!conn.vin.empty()) {
    data_ += ",\"vin\":";
    append_json_string(data_, conn.vin);
  }
  data_.push_back('}');

  std::string& j = ev.json;
  j.reserve(data_.size() + 512);
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
  if (signer_) {
    j += ",\"signature\":\"";
    j += signer_->sign(conn.key_child, data_);
    j.push_back('"');
  }
  j += ",\"data\":";
  ev.data_offset = j.size();
  ev.data_size = data_.size();
  j += data_;
  j.push_back('}');
  return ev;
}

}  // namespace oemlink::pipeline
