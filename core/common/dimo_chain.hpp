// DIMO's production chain constants (Polygon, chain 137): the defaults of the configuration's
// `dimo` block and of the event envelope. Deployments on a testnet override them in the config.
#pragma once

#include <cstdint>
#include <string_view>

namespace oemlink::dimo {

inline constexpr uint64_t kChainId = 137;
inline constexpr std::string_view kVehicleContract = "0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF";
inline constexpr std::string_view kSyntheticDeviceContract =
    "0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D";
// The DIMO registry: verifies the mint calls' EIP-712 signatures (dimo-wire.md §6a).
inline constexpr std::string_view kRegistryContract = "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC";
// The integration's address: the CloudEvent `source`.
inline constexpr std::string_view kIntegrationSource = "0xc4035Fecb1cc906130423EF05f9C20977F643722";

}  // namespace oemlink::dimo
