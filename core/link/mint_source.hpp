// MintSource: what the linking routes need from the EIP-712 mint request builder
// (mint_request.hpp, dimo-wire.md §6/6a): the typed data and device signature for a connection,
// and the complete request once the owner has signed. Behind this interface the routes are
// tested without a vault.
//
// Threading: the host loop thread (the vault's sign_hash is quick and in memory or one local
// round trip to keyd).
#pragma once

#include "core/host/connection_control.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace oemlink::config {
struct DimoConfig;
}
namespace oemlink::vault {
class KeyVault;
}

namespace oemlink::link {

// The mint's inputs beyond the connection (mint_request.hpp's MintInputs).
struct MintFields {
  std::string owner;              // 0x address
  uint64_t vehicle_token_id = 0;  // set: the car's vehicle NFT exists (MintSyntheticDeviceSign)
  std::string manufacturer_node;  // decimal token id (new vehicle path)
  std::string device_definition_id, make, model;
  uint32_t year = 0;
};

struct MintAnswer {
  bool ok = false;
  std::string text;  // ok: the request as a JSON object; else why it was refused (for the owner)
};

class MintSource {
 public:
  virtual ~MintSource() = default;
  // The typed data for the owner to sign and the device key's signature.
  virtual MintAnswer prepare(const host::ConnectionView& c, const MintFields& in) = 0;
  // The whole request, after checking `owner_signature` (EOA recovery) against in.owner.
  virtual MintAnswer complete(const host::ConnectionView& c, const MintFields& in,
                              std::string_view owner_signature) = 0;
};

// The builder of mint_request.hpp on `dimo` and `vault`.
std::unique_ptr<MintSource> make_mint_source(const config::DimoConfig& dimo,
                                             vault::KeyVault& vault);

}  // namespace oemlink::link
