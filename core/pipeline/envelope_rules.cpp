#include "core/pipeline/envelope_rules.hpp"

namespace oemlink::pipeline {

bool is_dis_field(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '/' || c == ',' || c == '.' || c == ' ' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string check_envelope(const Event& event) {
  std::string_view subject = event.subject(), producer = event.producer();
  if (!is_dis_field(event.id)) return "id does not match DIS's field pattern";
  if (!is_dis_field(subject))
    return "subject \"" + std::string(subject.substr(0, 120)) +
           "\" does not match DIS's field pattern (check dimo.vehicle_contract)";
  if (!is_dis_field(producer))
    return "producer \"" + std::string(producer.substr(0, 120)) +
           "\" does not match DIS's field pattern (check dimo.synthetic_device_contract)";
  size_t header = event.json.size() - event.data_size;
  if (header > kMaxHeaderBytes)
    return "envelope header is " + std::to_string(header) + " bytes; DIS accepts at most " +
           std::to_string(kMaxHeaderBytes);
  return {};
}

}  // namespace oemlink::pipeline
