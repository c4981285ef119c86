#include "core/isolation/abi_codec.hpp"

#include <cmath>
#include <limits>

namespace oemlink::isolation {
namespace {

template <class T>
T field_or(const oemlink_reading& r, T oemlink_reading::*field, size_t offset, T fallback) {
  return r.struct_size >= offset + sizeof(T) ? r.*field : fallback;
}

}  // namespace

size_t get_count(FrameReader& r, size_t min_bytes_each) {
  uint32_t n = r.u32();
  // Against what is left of this frame, not the largest frame: a few bytes announcing a million
  // items must not make the reader allocate for them first.
  if (min_bytes_each && n > r.remaining().size() / min_bytes_each)
    throw FrameError("a frame announces " + std::to_string(n) + " items, more than it can hold");
  return n;
}

void put_readings(FrameWriter& w, const oemlink_reading* readings, size_t count) {
  w.u32(static_cast<uint32_t>(count));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < count; ++i) {
    const oemlink_reading& r = readings[i];
    w.u32(r.struct_size);
    w.str(field_or(r, &oemlink_reading::name, offsetof(oemlink_reading, name), oemlink_str{}));
    w.i64(field_or(r, &oemlink_reading::timestamp_ms, offsetof(oemlink_reading, timestamp_ms),
                   int64_t{0}));
    w.i32(field_or(r, &oemlink_reading::kind, offsetof(oemlink_reading, kind),
                   oemlink_value_kind{0}));
    w.f64(field_or(r, &oemlink_reading::number, offsetof(oemlink_reading, number), 0.0));
    w.str(field_or(r, &oemlink_reading::text, offsetof(oemlink_reading, text), oemlink_str{}));
    w.f64(field_or(r, &oemlink_reading::latitude, offsetof(oemlink_reading, latitude), nan));
    w.f64(field_or(r, &oemlink_reading::longitude, offsetof(oemlink_reading, longitude), nan));
    w.f64(field_or(r, &oemlink_reading::hdop, offsetof(oemlink_reading, hdop), nan));
  }
}

std::vector<oemlink_reading> get_readings(FrameReader& r) {
  std::vector<oemlink_reading> out(get_count(r, 56));
  for (oemlink_reading& x : out) {
    // The host reads what the driver wrote: the same struct_size it would have seen in process.
    x.struct_size = std::min<uint32_t>(r.u32(), sizeof(oemlink_reading));
    x.name = r.view();
    x.timestamp_ms = r.i64();
    x.kind = r.i32();
    x.number = r.f64();
    x.text = r.view();
    x.latitude = r.f64();
    x.longitude = r.f64();
    x.hdop = r.f64();
  }
  return out;
}

namespace {

void put_headers(FrameWriter& w, const oemlink_http_header* h, size_t n) {
  w.u32(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) w.str(h[i].name).str(h[i].value);
}

std::vector<oemlink_http_header> get_headers(FrameReader& r) {
  std::vector<oemlink_http_header> out(get_count(r, 8));
  for (oemlink_http_header& h : out) {
    h.name = r.view();
    h.value = r.view();
  }
  return out;
}

}  // namespace

void put_http_request(FrameWriter& w, const oemlink_http_request& q) {
  w.str(q.method).str(q.url);
  put_headers(w, q.headers, q.headers ? q.header_count : 0);
  w.str(q.body).u32(OEMLINK_HAS_FIELD(&q, oemlink_http_request, timeout_ms) ? q.timeout_ms : 0);
}

void get_http_request(FrameReader& r, DecodedHttpRequest& into) {
  oemlink_http_request& q = into.request;
  q.struct_size = sizeof q;
  q.method = r.view();
  q.url = r.view();
  into.headers = get_headers(r);
  q.headers = into.headers.data();
  q.header_count = into.headers.size();
  q.body = r.view();
  q.timeout_ms = r.u32();
}

void put_http_response(FrameWriter& w, const oemlink_http_response& a) {
  w.i32(a.status).i32(a.http_status);
  put_headers(w, a.headers, a.headers ? a.header_count : 0);
  w.str(a.body).str(a.error);
}

void get_http_response(FrameReader& r, DecodedHttpResponse& into) {
  oemlink_http_response& a = into.response;
  a.struct_size = sizeof a;
  a.status = r.i32();
  a.http_status = r.i32();
  into.headers = get_headers(r);
  a.headers = into.headers.data();
  a.header_count = into.headers.size();
  a.body = r.view();
  a.error = r.view();
}

void put_pairs(FrameWriter& w, const oemlink_str* keys, const oemlink_str* values, size_t count) {
  w.u32(static_cast<uint32_t>(count));
  for (size_t i = 0; i < count; ++i) w.str(keys[i]).str(values[i]);
}

DecodedPairs get_pairs(FrameReader& r) {
  DecodedPairs p;
  size_t n = get_count(r, 8);
  p.keys.reserve(n);
  p.values.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    p.keys.push_back(r.view());
    p.values.push_back(r.view());
  }
  return p;
}

void put_conn_info(FrameWriter& w, const oemlink_conn_info& info) {
  w.str(info.id).str(info.vin).str(info.identifiers_json);
  w.u64(info.vehicle_token_id).u64(info.synthetic_token_id);
}

oemlink_conn_info get_conn_info(FrameReader& r) {
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = r.view();
  info.vin = r.view();
  info.identifiers_json = r.view();
  info.vehicle_token_id = r.u64();
  info.synthetic_token_id = r.u64();
  return info;
}

void put_link_authorize(FrameWriter& w, const oemlink_link_authorize& q) {
  w.str(q.state).str(q.redirect_uri).str(q.code_challenge);
  w.str(OEMLINK_HAS_FIELD(&q, oemlink_link_authorize, vehicle_id) ? q.vehicle_id : oemlink_str{});
}

oemlink_link_authorize get_link_authorize(FrameReader& r) {
  oemlink_link_authorize a{};
  a.struct_size = sizeof a;
  a.state = r.view();
  a.redirect_uri = r.view();
  a.code_challenge = r.view();
  a.vehicle_id = r.view();
  return a;
}

void put_link_callback(FrameWriter& w, const oemlink_link_callback& c) {
  w.str(c.code).str(c.query).str(c.redirect_uri).str(c.code_verifier);
}

oemlink_link_callback get_link_callback(FrameReader& r) {
  oemlink_link_callback c{};
  c.struct_size = sizeof c;
  c.code = r.view();
  c.query = r.view();
  c.redirect_uri = r.view();
  c.code_verifier = r.view();
  return c;
}

void put_link_vehicles(FrameWriter& w, const oemlink_link_vehicle* v, size_t count) {
  w.u32(static_cast<uint32_t>(count));
  for (size_t i = 0; i < count; ++i) {
    w.str(v[i].vehicle_id).str(v[i].vin).str(v[i].display_name).str(v[i].identifiers_json);
    w.str(v[i].make).str(v[i].model).u32(v[i].year);
  }
}

std::vector<oemlink_link_vehicle> get_link_vehicles(FrameReader& r) {
  std::vector<oemlink_link_vehicle> out(get_count(r, 28));
  for (oemlink_link_vehicle& v : out) {
    v.struct_size = sizeof v;
    v.vehicle_id = r.view();
    v.vin = r.view();
    v.display_name = r.view();
    v.identifiers_json = r.view();
    v.make = r.view();
    v.model = r.view();
    v.year = r.u32();
  }
  return out;
}

void put_mqtt_subscription(FrameWriter& w, const oemlink_mqtt_subscription& s) {
  w.str(s.host).u32(s.port).u32(s.keepalive_s).str(s.client_id).str(s.username).str(s.password);
  w.str(s.ca_file).str(s.cert_file).str(s.key_file);
  w.u32(static_cast<uint32_t>(s.topics ? s.topic_count : 0));
  for (size_t i = 0; s.topics && i < s.topic_count; ++i) w.str(s.topics[i]);
  w.i32(s.qos);
}

void get_mqtt_subscription(FrameReader& r, DecodedMqttSubscription& into) {
  oemlink_mqtt_subscription& s = into.sub;
  s.struct_size = sizeof s;
  s.host = r.view();
  s.port = r.u32();
  s.keepalive_s = r.u32();
  s.client_id = r.view();
  s.username = r.view();
  s.password = r.view();
  s.ca_file = r.view();
  s.cert_file = r.view();
  s.key_file = r.view();
  size_t n = get_count(r, 4);
  into.topics.reserve(n);
  for (size_t i = 0; i < n; ++i) into.topics.push_back(r.view());
  s.topics = into.topics.data();
  s.topic_count = into.topics.size();
  s.qos = r.i32();
}

}  // namespace oemlink::isolation
