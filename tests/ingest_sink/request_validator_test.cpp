// The sink's pieces in-process: RFC 3339 parsing, the stored line, fault partitioning.
#include "tools/ingest-sink/request_validator.hpp"
#include "tools/ingest-sink/event_store.hpp"
#include "tools/ingest-sink/fault_injector.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace oemlink::ingest_sink {
namespace {

using namespace std::chrono;

TEST(IngestSinkRfc3339, ParsesUtcOffsetsAndFractions) {
  const auto base = sys_days(2025y / March / 4) + 12h + 1min;
  EXPECT_EQ(parse_rfc3339("2025-03-04T12:01:00Z"), base);
  EXPECT_EQ(parse_rfc3339("2025-03-04t12:01:00z"), base);
  EXPECT_EQ(parse_rfc3339("2025-03-04T14:01:00+02:00"), base);
  EXPECT_EQ(parse_rfc3339("2025-03-04T11:31:00-00:30"), base);
  EXPECT_EQ(parse_rfc3339("2025-03-04T12:01:00.5Z"), base + 500ms);
  EXPECT_EQ(parse_rfc3339("2025-03-04T12:01:00.123456789Z"), base + 123456789ns);
}

TEST(IngestSinkRfc3339, RejectsWhatIsNotRfc3339) {
  for (const char* bad :
       {"", "2025-03-04", "2025-03-04 12:01:00Z", "2025-03-04T12:01:00", "2025-13-04T12:01:00Z",
        "2025-02-30T12:01:00Z", "2025-03-04T24:00:00Z", "2025-03-04T12:01:00.Z",
        "2025-03-04T12:01:00+0200", "2025-03-04T12:01:00Zjunk", "1741089660"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(IngestSinkStore, StoredLineKeepsTheBodyAndAddsTheClientCn) {
  const std::string line = store_line("{\"a\":1,\n\"data\":{\"x\":\"}\"}}\n", "0xAbC");
  EXPECT_EQ(line, "{\"a\":1, \"data\":{\"x\":\"}\"},\"_client_cn\":\"0xAbC\"}\n");
  EXPECT_EQ(boost::json::parse(line).at("_client_cn").as_string(), "0xAbC");
}

TEST(IngestSinkFaults, RatesPartitionTheDraws) {
  FaultOptions options;
  options.drop_rate = 0.1;
  options.stall_rate = 0.1;
  options.fail_rate_500 = 0.3;
  options.fail_rate_400 = 0.5;
  options.seed = 3;
  FaultInjector faults(options);
  std::map<Fault, int> seen;
  for (int i = 0; i < 10000; ++i) ++seen[faults.next()];
  EXPECT_EQ(seen[Fault::kNone], 0) << "the rates add up to 1";
  EXPECT_NEAR(seen[Fault::kDrop], 1000, 150);
  EXPECT_NEAR(seen[Fault::kStallThen500] + seen[Fault::kStallThenDrop], 1000, 150);
  EXPECT_NEAR(seen[Fault::kFail500], 3000, 250);
  EXPECT_NEAR(seen[Fault::kFail400], 5000, 250);
}

TEST(IngestSinkFaults, DownTimeComesFirst) {
  FaultOptions options;
  options.down_time = minutes(1);
  FaultInjector faults(options);
  EXPECT_EQ(faults.next(), Fault::kDown503);
}

}  // namespace
}  // namespace oemlink::ingest_sink
