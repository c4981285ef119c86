#include "vin_decoding.hpp"

namespace oemlink::tesla {

std::string model_from_vin(std::string_view vin) {
  if (vin.size() != 17) return {};
  switch (vin[3]) {
    case 'S':
      return "Model S";
    case '3':
      return "Model 3";
    case 'X':
      return "Model X";
    case 'Y':
      return "Model Y";
    case 'C':
      return "Cybertruck";
    default:
      return {};
  }
}

uint32_t model_year_from_vin(std::string_view vin) {
  if (vin.size() != 17) return 0;
  // A = 2010 ... Y = 2030 without I, O, Q, U, Z; then 1 = 2031 ... 9 = 2039.
  constexpr std::string_view kCodes = "ABCDEFGHJKLMNPRSTVWXY123456789";
  const size_t at = kCodes.find(vin[9]);
  return at == std::string_view::npos ? 0 : uint32_t(2010 + at);
}

}  // namespace oemlink::tesla
