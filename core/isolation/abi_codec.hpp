// AbiCodec: how the driver ABI's structs travel in a frame, written and read by both ends so the
// two cannot disagree. A decoded struct points into the frame it came from (or into the
// decoder's own storage for arrays): valid while both live, exactly the ABI's "valid during the
// call" lifetime.
#pragma once

#include "core/isolation/wire_frame.hpp"

#include <oemlink/driver.h>

#include <cstddef>
#include <vector>

namespace oemlink::isolation {

// A reading as the driver filled it: fields past its struct_size are not read.
void put_readings(FrameWriter& w, const oemlink_reading* readings, size_t count);
std::vector<oemlink_reading> get_readings(FrameReader& r);

struct DecodedHttpRequest {
  oemlink_http_request request{};
  std::vector<oemlink_http_header> headers;
};
void put_http_request(FrameWriter& w, const oemlink_http_request& request);
// `into` must not move while its `request` is used (its headers point into it).
void get_http_request(FrameReader& r, DecodedHttpRequest& into);

struct DecodedHttpResponse {
  oemlink_http_response response{};
  std::vector<oemlink_http_header> headers;
};
void put_http_response(FrameWriter& w, const oemlink_http_response& response);
void get_http_response(FrameReader& r, DecodedHttpResponse& into);

// Key/value lists (secrets, a link's exchanged secrets).
struct DecodedPairs {
  std::vector<oemlink_str> keys;
  std::vector<oemlink_str> values;
};
void put_pairs(FrameWriter& w, const oemlink_str* keys, const oemlink_str* values, size_t count);
DecodedPairs get_pairs(FrameReader& r);

void put_conn_info(FrameWriter& w, const oemlink_conn_info& info);
oemlink_conn_info get_conn_info(FrameReader& r);

void put_link_authorize(FrameWriter& w, const oemlink_link_authorize& request);
oemlink_link_authorize get_link_authorize(FrameReader& r);

void put_link_callback(FrameWriter& w, const oemlink_link_callback& callback);
oemlink_link_callback get_link_callback(FrameReader& r);

void put_link_vehicles(FrameWriter& w, const oemlink_link_vehicle* vehicles, size_t count);
std::vector<oemlink_link_vehicle> get_link_vehicles(FrameReader& r);

void put_mqtt_subscription(FrameWriter& w, const oemlink_mqtt_subscription& sub);
struct DecodedMqttSubscription {
  oemlink_mqtt_subscription sub{};
  std::vector<oemlink_str> topics;
};
void get_mqtt_subscription(FrameReader& r, DecodedMqttSubscription& into);

// Counts announced by a peer are checked against what the frame can hold before anything is
// allocated for them.
size_t get_count(FrameReader& r, size_t min_bytes_each);

}  // namespace oemlink::isolation
