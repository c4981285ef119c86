#include "core/isolation/wire_frame.hpp"
#include "core/isolation/abi_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace {

using namespace oemlink::isolation;

FrameReader reader_of(const std::vector<char>& bytes, std::string& keep) {
  FrameHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  keep.assign(bytes.data() + sizeof h, bytes.size() - sizeof h);
  return FrameReader(h, keep);
}

TEST(WireFrame, EveryFieldComesBackAsWritten) {
  FrameWriter w(42, 7);
  w.u8(200).u32(4'000'000'000u).i32(-5).u64(1ull << 60).i64(-(1ll << 50)).f64(2.5).str("héllo");
  w.str(std::string_view());
  std::string keep;
  FrameReader r = reader_of(w.finish(1234), keep);
  EXPECT_EQ(r.header().kind, 42);
  EXPECT_EQ(r.header().call_id, 7u);
  EXPECT_EQ(r.header().sender_unix_ms, 1234);
  EXPECT_EQ(r.header().payload_size, keep.size());
  EXPECT_EQ(r.u8(), 200);
  EXPECT_EQ(r.u32(), 4'000'000'000u);
  EXPECT_EQ(r.i32(), -5);
  EXPECT_EQ(r.u64(), 1ull << 60);
  EXPECT_EQ(r.i64(), -(1ll << 50));
  EXPECT_EQ(r.f64(), 2.5);
  EXPECT_EQ(r.str(), "héllo");
  EXPECT_EQ(r.str(), "");
  EXPECT_NO_THROW(r.done());
}

TEST(WireFrame, AFrameOfTheWrongShapeIsRefusedNotHalfUsed) {
  FrameWriter w(1, 0);
  w.u32(3);
  std::string keep;
  FrameReader short_one = reader_of(w.finish(0), keep);
  EXPECT_THROW(short_one.u64(), FrameError);

  FrameWriter x(1, 0);
  x.u32(1000).u8('a');  // a string announcing 1000 bytes with 1 behind it
  std::string keep2;
  FrameReader lying = reader_of(x.finish(0), keep2);
  EXPECT_THROW(lying.str(), FrameError);

  FrameWriter y(1, 0);
  y.u32(1).u32(2);
  std::string keep3;
  FrameReader longer = reader_of(y.finish(0), keep3);
  longer.u32();
  EXPECT_THROW(longer.done(), FrameError);
}

TEST(AbiCodec, ReadingsTravelWithWhatTheDriversStructSizeCovers) {
  oemlink_reading full[2] = {};
  full[0].struct_size = sizeof(oemlink_reading);
  full[0].name = {"speed", 5};
  full[0].timestamp_ms = 1700000000000;
  full[0].kind = OEMLINK_VALUE_NUMBER;
  full[0].number = 42.5;
  full[0].hdop = NAN;
  full[1] = full[0];
  // An older driver's struct: it ends before `number`, whatever garbage follows.
  full[1].struct_size = static_cast<uint32_t>(offsetof(oemlink_reading, number));
  full[1].number = 99;
  FrameWriter w(41, 1);
  w.u64(5);
  put_readings(w, full, 2);
  std::string keep;
  FrameReader r = reader_of(w.finish(0), keep);
  EXPECT_EQ(r.u64(), 5u);
  std::vector<oemlink_reading> got = get_readings(r);
  r.done();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(std::string_view(got[0].name.data, got[0].name.size), "speed");
  EXPECT_EQ(got[0].timestamp_ms, 1700000000000);
  EXPECT_EQ(got[0].number, 42.5);
  EXPECT_TRUE(std::isnan(got[0].hdop));
  EXPECT_EQ(got[1].struct_size, offsetof(oemlink_reading, number));
  EXPECT_EQ(got[1].number, 0.0);
  EXPECT_TRUE(std::isnan(got[1].latitude));
}

TEST(AbiCodec, ACountLargerThanTheFrameCanHoldIsRefusedBeforeAllocating) {
  FrameWriter w(41, 1);
  w.u32(0xFFFFFFFFu);
  std::string keep;
  FrameReader r = reader_of(w.finish(0), keep);
  EXPECT_THROW(get_readings(r), FrameError);
}

TEST(AbiCodec, ACountLargerThanTheRestOfItsFrameIsRefusedBeforeAllocating) {
  // Far below what the largest frame could hold, far above what this one does: refused on the
  // count (before a vector of a million readings or headers is made), not on running short.
  for (auto get :
       {+[](FrameReader& r) { (void)get_readings(r); }, +[](FrameReader& r) { (void)get_pairs(r); },
        +[](FrameReader& r) { (void)get_link_vehicles(r); }}) {
    FrameWriter w(41, 1);
    w.u32(1'000'000).u64(0);
    std::string keep;
    FrameReader r = reader_of(w.finish(0), keep);
    try {
      get(r);
      ADD_FAILURE() << "not refused";
    } catch (const FrameError& e) {
      EXPECT_NE(std::string(e.what()).find("announces 1000000 items"), std::string::npos)
          << e.what();
    }
  }
}

TEST(AbiCodec, LinkRequestsRoundTrip) {
  oemlink_link_authorize q{};
  q.struct_size = sizeof q;
  q.state = {"st", 2};
  q.redirect_uri = {"https://h/cb", 12};
  q.code_challenge = {"ch", 2};
  q.vehicle_id = {"17", 2};
  oemlink_link_callback c{};
  c.struct_size = sizeof c;
  c.code = {"code", 4};
  c.query = {"code=code&user_id=u", 19};
  c.redirect_uri = q.redirect_uri;
  c.code_verifier = {"v", 1};
  FrameWriter w(18, 1);
  put_link_authorize(w, q);
  put_link_callback(w, c);
  std::string keep;
  FrameReader r = reader_of(w.finish(0), keep);
  oemlink_link_authorize gq = get_link_authorize(r);
  oemlink_link_callback gc = get_link_callback(r);
  r.done();
  EXPECT_EQ(std::string_view(gq.state.data, gq.state.size), "st");
  EXPECT_EQ(std::string_view(gq.vehicle_id.data, gq.vehicle_id.size), "17");
  EXPECT_EQ(std::string_view(gc.query.data, gc.query.size), "code=code&user_id=u");
  EXPECT_EQ(std::string_view(gc.code_verifier.data, gc.code_verifier.size), "v");
}

TEST(AbiCodec, HttpPairsVehiclesAndSubscriptionsRoundTrip) {
  oemlink_http_header hs[] = {{{"A", 1}, {"b", 1}}, {{"Retry-After", 11}, {"5", 1}}};
  oemlink_http_request q{};
  q.struct_size = sizeof q;
  q.method = {"POST", 4};
  q.url = {"https://x/y", 11};
  q.headers = hs;
  q.header_count = 2;
  q.body = {"{}", 2};
  q.timeout_ms = 1500;
  oemlink_str keys[] = {{"k", 1}}, values[] = {{"v", 1}};
  oemlink_link_vehicle v{};
  v.vehicle_id = {"17", 2};
  v.year = 2024;
  oemlink_str topics[] = {{"a/#", 3}};
  oemlink_mqtt_subscription s{};
  s.host = {"broker", 6};
  s.port = 8883;
  s.topics = topics;
  s.topic_count = 1;
  s.qos = 1;
  FrameWriter w(43, 1);
  put_http_request(w, q);
  put_pairs(w, keys, values, 1);
  put_link_vehicles(w, &v, 1);
  put_mqtt_subscription(w, s);
  std::string keep;
  FrameReader r = reader_of(w.finish(0), keep);
  DecodedHttpRequest dq;
  get_http_request(r, dq);
  DecodedPairs p = get_pairs(r);
  auto vs = get_link_vehicles(r);
  DecodedMqttSubscription ds;
  get_mqtt_subscription(r, ds);
  r.done();
  EXPECT_EQ(std::string_view(dq.request.url.data, dq.request.url.size), "https://x/y");
  ASSERT_EQ(dq.request.header_count, 2u);
  EXPECT_EQ(std::string_view(dq.request.headers[1].name.data, 11), "Retry-After");
  EXPECT_EQ(dq.request.timeout_ms, 1500u);
  ASSERT_EQ(p.keys.size(), 1u);
  EXPECT_EQ(std::string_view(p.values[0].data, 1), "v");
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].year, 2024u);
  EXPECT_EQ(ds.sub.port, 8883u);
  ASSERT_EQ(ds.sub.topic_count, 1u);
  EXPECT_EQ(std::string_view(ds.sub.topics[0].data, 3), "a/#");
  EXPECT_EQ(ds.sub.qos, 1);
}

}  // namespace
