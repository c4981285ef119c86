// What a Tesla VIN says about the car, for the mint's device definition when a car is linked:
// the model (4th character) and the model year (10th character, the standard code that cycles
// every 30 years; read as 2010-2039, the years Tesla has built cars in and will for a while).
#ifndef OEMLINK_TESLA_VIN_DECODING_HPP
#define OEMLINK_TESLA_VIN_DECODING_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace oemlink::tesla {

// "Model S", "Model 3", "Model X", "Model Y", "Cybertruck"; empty for any other code or a VIN
// that is not 17 characters.
std::string model_from_vin(std::string_view vin);
// 2010..2039; 0 for a code that names no year (I, O, Q, U, Z, 0) or a VIN that is not 17
// characters.
uint32_t model_year_from_vin(std::string_view vin);

}  // namespace oemlink::tesla

#endif
