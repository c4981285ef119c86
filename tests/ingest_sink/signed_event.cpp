#include "tests/ingest_sink/signed_event.hpp"

#include "core/crypto/keccak.hpp"

#include <ctime>

namespace oemlink::ingest_sink::testing {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string signed_event(const crypto::PrivateKey& key, const EventSpec& spec) {
  const std::string time = rfc3339(spec.time);
  const std::string data = "{\"signals\":[{\"name\":\"speed\",\"timestamp\":\"" + time +
                           "\",\"value\":55}],\"vin\":\"5YJ3E1EA7KF000001\"}";
  const std::string signature =
      crypto::signature_hex(crypto::sign_hash(key, crypto::keccak256(data)));
  std::string event =
      "{\"specversion\":\"1.0\",\"id\":\"" + spec.id + "\",\"source\":\"" + kClientCn +
      "\",\"producer\":\"" + spec.producer + "\",\"subject\":\"" + spec.subject + "\",\"type\":\"" +
      spec.type + "\",\"time\":\"" + time +
      "\",\"dataversion\":\"default/v1.0\",\"datacontenttype\":\"application/json\"";
  if (!spec.extra_member.empty()) event += "," + spec.extra_member;
  event += ",\"signature\":\"" + signature + "\",\"data\":" + data + "}";
  return event;
}

crypto::PrivateKey test_key(uint8_t fill) {
  crypto::PrivateKey key;
  key.fill(fill);
  return key;
}

}  // namespace oemlink::ingest_sink::testing
