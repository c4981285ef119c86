#include "tools/ingest-sink/request_validator.hpp"

#include "core/common/json_member.hpp"
#include "core/pipeline/envelope_rules.hpp"
#include "core/pipeline/event_verifier.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oemlink::ingest_sink {
namespace {

namespace json = boost::json;
using namespace std::chrono;

// Reasons go back on one line and into logs: quote at most a little of what the client sent and
// never a control character.
std::string quoted(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (char c : text.substr(0, kMax)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool read_digits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::string signer_mismatch(const crypto::Address20& got, const crypto::Address20& want) {
  return "signature recovers to " + crypto::to_checksum_address(got) + ", expected " +
         crypto::to_checksum_address(want);
}

}  // namespace

std::optional<EventTime> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (!read_digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, month) ||
      s[7] != '-' || !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !read_digits(s, 11, 2, hour) || s[13] != ':' || !read_digits(s, 14, 2, minute) ||
      s[16] != ':' || !read_digits(s, 17, 2, second))
    return std::nullopt;
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;

  size_t i = 19;
  nanoseconds fraction{0};
  if (s[i] == '.') {
    ++i;
    const size_t start = i;
    int64_t scale = 100'000'000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      fraction += nanoseconds((s[i] - '0') * scale);
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  minutes offset{0};
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!read_digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !read_digits(s, i + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours(oh) + minutes(om);
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  // A leap second (:60) is folded into the next second, as Go's parser does not accept it
  // either way; being lenient here only matters for order checks.
  return sys_days(date) + hours(hour) + minutes(minute) + seconds(second) + fraction - offset;
}

ExpectedSigners ExpectedSigners::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (ec) throw std::runtime_error(path + ": not JSON: " + ec.message());

  auto address = [&](const json::value& v, std::string_view where) {
    std::optional<crypto::Address20> a;
    if (v.is_string()) a = crypto::parse_address(std::string_view(v.as_string()));
    if (!a)
      throw std::runtime_error(path + ": " + std::string(where) + ": not a 0x + 40 hex address");
    return *a;
  };
  ExpectedSigners out;
  if (doc.is_object()) {
    out.by_producer_mode = true;
    for (const auto& [producer, v] : doc.as_object())
      out.by_producer.emplace(std::string(producer), address(v, producer));
  } else if (doc.is_array()) {
    for (const auto& v : doc.as_array()) out.any_of.push_back(address(v, "list entry"));
  } else {
    throw std::runtime_error(path + ": expected an object (producer -> address) or a list");
  }
  return out;
}

Verdict RequestValidator::check(std::string_view body, EventTime now) const {
  Verdict v;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    v.reason = "body is not JSON: " + ec.message();
    return v;
  }
  if (!doc.is_object()) {
    v.reason = "body is not a JSON object";
    return v;
  }
  const json::object& event = doc.as_object();

  const json::value* specversion = event.if_contains("specversion");
  if (!specversion || !specversion->is_string() || specversion->as_string() != "1.0") {
    v.reason = "specversion must be \"1.0\"";
    return v;
  }
  std::map<std::string_view, std::string_view> fields;
  for (std::string_view name :
       {"id", "source", "producer", "subject", "type", "time", "dataversion"}) {
    const json::value* value = event.if_contains(name);
    if (!value || !value->is_string() || value->as_string().empty()) {
      v.reason = "missing or non-string field " + std::string(name);
      return v;
    }
    fields[name] = value->as_string();
  }
  if (!event.contains("data")) {
    v.reason = "missing field data";
    return v;
  }
  for (std::string_view name : {"id", "type", "subject", "producer", "dataversion"}) {
    if (!pipeline::is_dis_field(fields[name])) {
      v.reason = std::string(name) + " " + quoted(fields[name]) +
                 " does not match ^[a-zA-Z0-9\\-_/,. :]+$";
      return v;
    }
  }

  // Measured as oemlink measures it before sending (event minus the raw `data` text), so the
  // two sides agree on the boundary.
  const std::optional<std::string_view> raw_data = raw_json_member(body, "data");
  if (!raw_data) {
    v.reason = "cannot locate the data member";
    return v;
  }
  const size_t header_bytes = body.size() - raw_data->size();
  if (header_bytes > pipeline::kMaxHeaderBytes) {
    v.reason = "header is " + std::to_string(header_bytes) + " bytes; at most " +
               std::to_string(pipeline::kMaxHeaderBytes) + " allowed";
    return v;
  }

  const std::optional<EventTime> time = parse_rfc3339(fields["time"]);
  if (!time) {
    v.reason = "time " + quoted(fields["time"]) + " is not RFC 3339";
    return v;
  }
  if (*time > now + options_.max_future) {
    v.reason = "time " + quoted(fields["time"]) + " is more than " +
               std::to_string(duration_cast<seconds>(options_.max_future).count()) +
               " s in the future";
    return v;
  }

  if (options_.expected || options_.require_signature) {
    const pipeline::VerifyResult sig = pipeline::verify_event_line(body);
    if (!sig.ok) {
      v.reason = "signature: " + sig.reason;
      return v;
    }
    if (options_.expected && options_.expected->by_producer_mode) {
      auto it = options_.expected->by_producer.find(fields["producer"]);
      if (it == options_.expected->by_producer.end()) {
        v.reason = "producer " + quoted(fields["producer"]) + " has no expected address";
        return v;
      }
      if (*sig.signer != it->second) {
        v.reason = signer_mismatch(*sig.signer, it->second);
        return v;
      }
    } else if (options_.expected) {
      const auto& any = options_.expected->any_of;
      if (std::find(any.begin(), any.end(), *sig.signer) == any.end()) {
        v.reason = "signature recovers to " + crypto::to_checksum_address(*sig.signer) +
                   ", which is not an expected address";
        return v;
      }
    }
  }

  v.event = AcceptedEvent{std::string(fields["subject"]), std::string(fields["source"]), *time};
  return v;
}

}  // namespace oemlink::ingest_sink
