// The JSON log line: one object per line that any JSON parser reads back, with the structured
// fields, the suppression count, RFC 3339 UTC time, and every byte escaped.
#include "core/common/log_line_format.hpp"

#include "core/common/rate_limited_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/json.hpp>

#include <sstream>
#include <string>

namespace oemlink {
namespace {

namespace json = boost::json;

json::object parse_line(const std::string& line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << line;
  return v.is_object() ? v.as_object() : json::object{};
}

std::string json_string(std::string_view s) {
  std::string out;
  append_log_json_string(out, s);
  return out;
}

// A logger writing to a string with the formatter under test, installed as the default.
class CapturedLog {
 public:
  explicit CapturedLog(LogLineStyle style) : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_formatter(make_log_formatter(style));
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(LogLineFormat, JsonLineHasTimeLevelMessageAndOnlyTheKnownFields) {
  std::string line;
  // 2026-12-02T03:04:05.678Z
  auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796180645678));
  append_json_log_line(line, at, spdlog::level::warn, "poll failed",
                       LogFields{.driver = "tesla", .connection = "car-1"}, 0);
  json::object o = parse_line(line);
  EXPECT_EQ(o.at("ts"), "2026-12-02T03:04:05.678Z");
  EXPECT_EQ(o.at("level"), "warn");
  EXPECT_EQ(o.at("msg"), "poll failed");
  EXPECT_EQ(o.at("driver"), "tesla");
  EXPECT_EQ(o.at("connection"), "car-1");
  for (const char* absent : {"sink", "event_id", "route", "listener", "suppressed"})
    EXPECT_FALSE(o.contains(absent)) << absent << " in " << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogLineFormat, EveryLevelHasItsName) {
  const std::pair<spdlog::level::level_enum, const char*> levels[] = {
      {spdlog::level::trace, "trace"}, {spdlog::level::debug, "debug"},
      {spdlog::level::info, "info"},   {spdlog::level::warn, "warn"},
      {spdlog::level::err, "error"},   {spdlog::level::critical, "critical"}};
  for (auto [level, name] : levels) {
    std::string line;
    append_json_log_line(line, std::chrono::system_clock::now(), level, "x", {}, 0);
    EXPECT_EQ(parse_line(line).at("level"), name);
  }
}

TEST(LogLineFormat, ControlCharactersQuotesAndBackslashesAreEscaped) {
  std::string raw = "a\"b\\c\nd\re\tf";
  raw += '\0';
  raw += "\x01\x1f\x7f";
  std::string s = json_string(raw);
  EXPECT_EQ(s, R"("a\"b\\c\nd\re\tf\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(json::parse(s).as_string(), raw);
}

TEST(LogLineFormat, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(json_string("Zürich → 東京 🚗"), "\"Zürich → 東京 🚗\"");
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, past U+10FFFF.
  for (std::string bad :
       {std::string("\x80"), std::string("\xE2\x82"), std::string("\xC0\xAF"),
        std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"), std::string("\xFF")}) {
    std::string s = json_string("a" + bad + "b");
    boost::system::error_code ec;
    json::value v = json::parse(s, ec);
    ASSERT_FALSE(ec) << s;
    std::string back(v.as_string());
    EXPECT_EQ(back.front(), 'a');
    EXPECT_EQ(back.back(), 'b');
    EXPECT_NE(back.find("\xEF\xBF\xBD"), std::string::npos) << s;  // U+FFFD
    EXPECT_EQ(back.find(bad), std::string::npos) << s;
  }
  // Every byte value, alone and in a run: always a string that parses.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  boost::system::error_code ec;
  json::parse(json_string(all), ec);
  EXPECT_FALSE(ec);
}

TEST(LogLineFormat, ScopesGiveFieldsToEveryLineInsideAndNestWithInnerWinning) {
  CapturedLog log(LogLineStyle::json);
  spdlog::info("outside");
  {
    LogScope call(LogFields{.driver = "smartcar", .connection = "c1"});
    spdlog::info("in a driver call");
    {
      LogScope sink(LogFields{.connection = "c2", .sink = "ingest", .event_id = "ev-1"});
      spdlog::error("delivery failed");
    }
    spdlog::info("back in the call");
  }
  log_with(LogFields{.route = "/webhooks/mock", .listener = "inbound"}, spdlog::level::warn,
           "rejected {}", 413);
  spdlog::info("outside again");

  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 6u);
  auto o = [&](size_t i) { return parse_line(lines[i]); };
  EXPECT_FALSE(o(0).contains("driver"));
  EXPECT_EQ(o(1).at("driver"), "smartcar");
  EXPECT_EQ(o(1).at("connection"), "c1");
  EXPECT_EQ(o(2).at("driver"), "smartcar");
  EXPECT_EQ(o(2).at("connection"), "c2");
  EXPECT_EQ(o(2).at("sink"), "ingest");
  EXPECT_EQ(o(2).at("event_id"), "ev-1");
  EXPECT_EQ(o(3).at("connection"), "c1");
  EXPECT_FALSE(o(3).contains("sink"));
  EXPECT_EQ(o(4).at("route"), "/webhooks/mock");
  EXPECT_EQ(o(4).at("listener"), "inbound");
  EXPECT_EQ(o(4).at("msg"), "rejected 413");
  EXPECT_FALSE(o(5).contains("route"));
  EXPECT_FALSE(o(5).contains("driver"));
}

TEST(LogLineFormat, FieldsAreThreadLocal) {
  CapturedLog log(LogLineStyle::json);
  LogScope here(LogFields{.driver = "here"});
  std::thread([] { spdlog::info("other thread"); }).join();
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(parse_line(lines[0]).contains("driver")) << lines[0];
}

TEST(LogLineFormat, AGatedLineCarriesTheSuppressedCountInBothStyles) {
  MetricsRegistry metrics;
  Counter& suppressed_lines = metrics.counter(kLogLinesSuppressed, kLogLinesSuppressedHelp);
  for (LogLineStyle style : {LogLineStyle::json, LogLineStyle::text}) {
    CapturedLog log(style);
    LogGate gate(2, &suppressed_lines);
    const LogFields f{.sink = "ingest"};
    for (int i = 0; i < 7; ++i) gate.log(1000, spdlog::level::warn, f, "delivery {} failed", i);
    gate.log(2000, spdlog::level::warn, f, "delivery {} failed", 7);
    spdlog::info("an ungated line after it");
    auto lines = log.lines();
    ASSERT_EQ(lines.size(), 4u);
    if (style == LogLineStyle::json) {
      EXPECT_FALSE(parse_line(lines[0]).contains("suppressed"));
      EXPECT_FALSE(parse_line(lines[1]).contains("suppressed"));
      json::object third = parse_line(lines[2]);
      EXPECT_EQ(third.at("suppressed"), 5);
      EXPECT_EQ(third.at("msg"), "delivery 7 failed");
      EXPECT_EQ(third.at("sink"), "ingest");
      EXPECT_FALSE(parse_line(lines[3]).contains("suppressed"));
    } else {
      EXPECT_EQ(lines[1].find("suppressed"), std::string::npos);
      EXPECT_NE(lines[2].find("delivery 7 failed (5 similar messages suppressed)"),
                std::string::npos)
          << lines[2];
      EXPECT_EQ(lines[3].find("suppressed"), std::string::npos);
    }
  }
  EXPECT_EQ(suppressed_lines.value(), 10u);
}

TEST(LogLineFormat, TextKeepsItsShape) {
  CapturedLog log(LogLineStyle::text);
  LogScope call(LogFields{.driver = "mock", .connection = "car-1"});
  spdlog::warn("connection car-1 (driver mock): poll RETRY");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  // 2026-12-02T03:04:05.678 warning connection …: the level and message as before.
  EXPECT_EQ(lines[0].find("connection car-1 (driver mock): poll RETRY"), lines[0].size() - 42)
      << lines[0];
  EXPECT_EQ(lines[0][4], '-');
  EXPECT_EQ(lines[0][10], 'T');
  EXPECT_NE(lines[0].find(" warning "), std::string::npos) << lines[0];
}

// A driver's or a peer's text with line breaks cannot forge a log entry of its own: the text
// style continues it indented and escapes other control bytes.
TEST(LogLineFormat, TextCannotForgeALineOfItsOwn) {
  CapturedLog log(LogLineStyle::text);
  spdlog::warn("peer said: bad\n2026-12-02T00:00:00.000 info all is well\r\x1b[2J");
  auto lines = log.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("peer said: bad"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "    2026-12-02T00:00:00.000 info all is well\\r\\x1b[2J");
}

TEST(LogLineFormat, MessagesAreRedactedInBothStyles) {
  for (LogLineStyle style : {LogLineStyle::json, LogLineStyle::text}) {
    CapturedLog log(style);
    spdlog::info(
        "token answer {{\"access_token\":\"at-SECRET1\",\"refresh_token\":\"rt-SECRET2\"}}");
    spdlog::info("request with Authorization: Bearer at-SECRET3");
    for (const std::string& l : log.lines()) {
      EXPECT_EQ(l.find("SECRET"), std::string::npos) << l;
      EXPECT_NE(l.find("[redacted]"), std::string::npos) << l;
    }
  }
}

}  // namespace
}  // namespace oemlink
