#include "core/config/duration.hpp"

#include <gtest/gtest.h>

#include "core/config/key_suggestion.hpp"
#include "core/config/scalars.hpp"

namespace oemlink::config {
namespace {

using namespace std::chrono_literals;

TEST(ConfigDuration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms").value, 250ms);
  EXPECT_EQ(parse_duration("30s").value, 30s);
  EXPECT_EQ(parse_duration("5m").value, 5min);
  EXPECT_EQ(parse_duration("2h").value, 2h);
  EXPECT_EQ(parse_duration("1d").value, 24h);
  EXPECT_EQ(parse_duration("0s").value, 0ms);
}

TEST(ConfigDuration, ParsesFractions) {
  EXPECT_EQ(parse_duration("1.5s").value, 1500ms);
  EXPECT_EQ(parse_duration("1.1s").value, 1100ms);  // not 1100.0000000000002
  EXPECT_EQ(parse_duration("0.5h").value, 30min);
  EXPECT_EQ(parse_duration(".5s").value, 500ms);
}

TEST(ConfigDuration, RejectsBareNumbersWithAHint) {
  Parsed<Duration> parsed = parse_duration("30");
  EXPECT_FALSE(parsed.value);
  EXPECT_EQ(parsed.problem, R"(expected a duration like "30s")");
  EXPECT_EQ(parsed.hint, "add a unit: ms, s, m, h or d");
}

TEST(ConfigDuration, RejectsMalformedText) {
  for (const char* text : {"", "abc", "s", "5 s", "5sec", "5S", "1e3s", "--5s", "5s5", "1.2.3s"}) {
    Parsed<Duration> parsed = parse_duration(text);
    EXPECT_FALSE(parsed.value) << text;
    EXPECT_EQ(parsed.problem, R"(expected a duration like "30s")") << text;
  }
}

TEST(ConfigDuration, RejectsNegativeSubMillisecondAndHuge) {
  EXPECT_EQ(parse_duration("-5s").problem, "must not be negative");
  EXPECT_EQ(parse_duration("0.5ms").problem, "must be a whole number of milliseconds");
  EXPECT_EQ(parse_duration("99999999999999d").problem, "duration out of range");
}

TEST(ConfigSize, ParsesUnits) {
  EXPECT_EQ(parse_size("4096").value, 4096u);
  EXPECT_EQ(parse_size("4096B").value, 4096u);
  EXPECT_EQ(parse_size("10KB").value, 10'000u);
  EXPECT_EQ(parse_size("10MB").value, 10'000'000u);
  EXPECT_EQ(parse_size("2GB").value, 2'000'000'000u);
  EXPECT_EQ(parse_size("1TB").value, 1'000'000'000'000u);
  EXPECT_EQ(parse_size("4KiB").value, 4096u);
  EXPECT_EQ(parse_size("256MiB").value, 256ull << 20);
  EXPECT_EQ(parse_size("1GiB").value, 1ull << 30);
  EXPECT_EQ(parse_size("1.5GiB").value, 3ull << 29);
  EXPECT_EQ(parse_size("2TiB").value, 2ull << 40);
}

TEST(ConfigSize, RejectsBadText) {
  EXPECT_EQ(parse_size("256mb").problem, R"(expected a size like "256MiB")");
  EXPECT_EQ(parse_size("256mb").hint, "units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB");
  EXPECT_FALSE(parse_size("MiB").value);
  EXPECT_FALSE(parse_size("").value);
  EXPECT_EQ(parse_size("-1MiB").problem, "must not be negative");
  EXPECT_EQ(parse_size("1.5").problem, "must be a whole number of bytes");
  EXPECT_EQ(parse_size("9999999TiB").problem, "size out of range");
}

TEST(ConfigScalars, Integers) {
  EXPECT_EQ(parse_uint64("18446744073709551615").value, 18446744073709551615ull);
  EXPECT_EQ(parse_uint64("18446744073709551616").problem, "integer out of range");
  EXPECT_EQ(parse_uint64("-1").problem, "must not be negative");
  EXPECT_EQ(parse_uint64("+1").problem, "expected an integer");
  EXPECT_EQ(parse_uint64("1.0").problem, "expected an integer");
  EXPECT_EQ(parse_uint64("").problem, "expected an integer");
  EXPECT_EQ(parse_uint32("4294967295").value, 4294967295u);
  EXPECT_EQ(parse_uint32("4294967296").problem, "must be at most 4294967295");
  EXPECT_EQ(parse_int64("-42").value, -42);
  EXPECT_EQ(parse_int64("x").problem, "expected an integer");
}

TEST(ConfigScalars, NumbersAndBools) {
  EXPECT_EQ(parse_number("0.25").value, 0.25);
  EXPECT_EQ(parse_number("-3").value, -3.0);
  EXPECT_EQ(parse_number("1e3").value, 1000.0);
  EXPECT_FALSE(parse_number("inf").value);
  EXPECT_FALSE(parse_number("nan").value);
  EXPECT_FALSE(parse_number("1.5x").value);
  EXPECT_EQ(parse_bool("true").value, true);
  EXPECT_EQ(parse_bool("FALSE").value, false);
  EXPECT_EQ(parse_bool("yes").problem, "expected true or false");
}

TEST(ConfigKeySuggestion, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("poll", "pol"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(ConfigKeySuggestion, SuggestsOnlyCloseNames) {
  constexpr std::string_view kValid[] = {"alpha", "beta"};
  EXPECT_EQ(unknown_name_message("key", "alpah", kValid),
            R"(unknown key "alpah" (did you mean "alpha"?); valid: alpha, beta)");
  EXPECT_EQ(unknown_name_message("key", "gamma", kValid),
            R"(unknown key "gamma"; valid: alpha, beta)");
  EXPECT_EQ(unknown_name_message("driver", "x", {}), R"(unknown driver "x"; valid: none)");
}

}  // namespace
}  // namespace oemlink::config
