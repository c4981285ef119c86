// The EIP-712 mint request for a linked car (dimo-wire.md §6, §6a): the typed data its owner
// signs, the device key's signature (made inside the vault), the owner's signature checked, and
// the registry call the operator's minting service submits. Two paths:
//
//   no vehicle NFT yet ("vehicle_and_synthetic_device"): mintVehicleAndSdWithDeviceDefinitionSign;
//     the owner signs MintVehicleWithDeviceDefinitionSign(uint256 manufacturerNode,address owner,
//     string deviceDefinitionId,string[] attributes,string[] infos), the device key signs
//     MintVehicleAndSdSign(uint256 connectionId);
//   vehicle NFT exists ("synthetic_device"): mintSyntheticDeviceSign; owner and device key both
//     sign MintSyntheticDeviceSign(uint256 connectionId,uint256 vehicleNode).
//
// `connectionId` is dimo.connection_field (older registries: `integrationNode`). Every signature
// is deterministic (RFC 6979), so asking again for the same connection and inputs gives the same
// bytes and never touches another key child.
//
// Thread rule: a builder holds only references; prepare and complete may run on any thread as
// long as the vault may (KeyVault is [any-thread]).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/config/config.hpp"
#include "core/host/connection_control.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::link {

struct MintInputs {
  std::string owner;                 // 0x + 40 hex, any case; required
  uint64_t vehicle_token_id = 0;     // > 0: the vehicle NFT exists -> MintSyntheticDeviceSign path
  std::string manufacturer_node;     // decimal; empty: cfg.manufacturer_nodes[make]
  std::string device_definition_id;  // empty: derived from make/model/year (README.md)
  std::string make, model;
  uint32_t year = 0;
};

// Bad or missing input, named: the caller answers it as a client error. Never holds a secret
// (signatures and addresses are public).
class MintError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

class MintRequestBuilder {
 public:
  // Keeps references to both; `dimo` is read on every call (dimo.connection_id may be unset:
  // prepare then refuses, naming the key).
  MintRequestBuilder(const config::DimoConfig& dimo, vault::KeyVault& vault);

  // Returns: the JSON object for connection `c` (its key_child, device_address, and
  // vehicle_token_id as the default for in.vehicle_token_id):
  //   {"path":"vehicle_and_synthetic_device"|"synthetic_device","registry","chain_id",
  //    "device_address","owner","owner_typed_data":{...},"device_typed_data":{...},
  //    "device_signature":"0x..."}
  // where the typed data is eth_signTypedData_v4 JSON (what the owner's wallet signs).
  // Throws: MintError naming the bad or missing input (dimo.connection_id unset, owner
  // malformed, no manufacturer node for make X, make/model/year missing, the vault's address
  // for the child differing from c.device_address); vault::VaultError when the vault cannot sign
  // (unreachable keyd, retired child).
  [[nodiscard]] std::string prepare(const host::ConnectionView& c, const MintInputs& in);

  // Checks that `owner_signature` (0x + 130 hex: r || s || v, v 27/28 or 0/1) recovers to
  // in.owner over the owner's typed data, and returns the complete mint request:
  //   {"path","registry","chain_id","function":"mintVehicleAndSdWithDeviceDefinitionSign"|
  //    "mintSyntheticDeviceSign","input_struct","args":{every field of the registry call's input
  //    struct, in ABI order, both signatures (v as 27/28) and the device address},
  //    "owner_typed_data","device_typed_data"}
  // Throws: MintError "owner signature recovers to 0x.. not 0x.."; for a signature that is not
  // 65 bytes "contract wallets (ERC-1271) are not supported: sign with the owner's EOA"; for a
  // 65-byte one no key could have made, saying so; plus prepare's errors.
  [[nodiscard]] std::string complete(const host::ConnectionView& c, const MintInputs& in,
                                     std::string_view owner_signature);

 private:
  const config::DimoConfig& dimo_;
  vault::KeyVault& vault_;
};

// Returns: the device definition id DIMO uses for `make` `model` `year`: "<make>_<model>_<year>",
// each name lowercased with every run of characters other than a-z and 0-9 replaced by one "-"
// (no leading or trailing "-"): ("Tesla", "Model 3", 2023) -> "tesla_model-3_2023". Empty when
// make or model has no letter or digit, or year is 0.
[[nodiscard]] std::string derive_device_definition_id(std::string_view make, std::string_view model,
                                                      uint32_t year);

}  // namespace oemlink::link
