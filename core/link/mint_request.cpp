#include "core/link/mint_request.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <utility>
#include <vector>

#include "core/common/hex.hpp"
#include "core/common/uint256.hpp"
#include "core/crypto/eip712.hpp"
#include "core/crypto/secp256k1_signer.hpp"

namespace oemlink::link {
namespace {

namespace eip712 = crypto::eip712;

constexpr std::string_view kPathNewVehicle = "vehicle_and_synthetic_device";
constexpr std::string_view kPathExistingVehicle = "synthetic_device";

// Everything both calls need, built the same way each time (so complete() checks the owner's
// signature against exactly the typed data prepare() handed out).
struct Plan {
  bool new_vehicle = false;
  std::string connection_field;
  Uint256 connection_id{};
  crypto::Address20 owner{};
  crypto::Address20 device{};
  uint64_t vehicle_node = 0;                                    // existing vehicle
  Uint256 manufacturer_node{};                                  // new vehicle
  std::string device_definition_id;                             // new vehicle
  std::vector<std::pair<std::string, std::string>> attributes;  // new vehicle: Make, Model, Year
  eip712::TypedData owner_data;
  eip712::TypedData device_data;
  crypto::Signature65 device_signature{};
};

std::string connection_label(const host::ConnectionView& c) {
  return "connection " + c.id + ": ";
}

Uint256 token_id(std::string_view text, std::string_view what, const host::ConnectionView& c) {
  const std::optional<Uint256> v = parse_uint256_decimal(text);
  if (!v || text[0] == '0')
    throw MintError(connection_label(c) + std::string(what) + " '" + std::string(text) +
                    "' is not a token id (a decimal integer from 1 to 2^256 - 1)");
  return *v;
}

eip712::Domain domain_of(const config::DimoConfig& dimo, const host::ConnectionView& c) {
  const std::optional<crypto::Address20> registry = crypto::parse_address(dimo.registry_contract);
  if (!registry)
    throw MintError(connection_label(c) + "dimo.registry_contract '" + dimo.registry_contract +
                    "' is not an Ethereum address");
  return eip712::Domain{"DIMO", "1", dimo.chain_id, *registry};
}

void plan_new_vehicle(Plan& p, const config::DimoConfig& dimo, const host::ConnectionView& c,
                      const MintInputs& in) {
  if (in.make.empty() || in.model.empty() || in.year == 0) {
    std::string missing;
    for (const auto& [name, absent] : {std::pair<const char*, bool>{"make", in.make.empty()},
                                       {"model", in.model.empty()},
                                       {"year", in.year == 0}}) {
      if (absent) missing += missing.empty() ? name : std::string(", ") + name;
    }
    throw MintError(connection_label(c) + "minting a new vehicle needs the car's make, model " +
                    "and year (its Make/Model/Year attributes); missing: " + missing);
  }
  std::string manufacturer = in.manufacturer_node;
  if (manufacturer.empty()) {
    const auto it = dimo.manufacturer_nodes.find(in.make);
    if (it == dimo.manufacturer_nodes.end())
      throw MintError(connection_label(c) + "no manufacturer node for make " + in.make +
                      ": set dimo.manufacturer_nodes." + in.make +
                      " to its manufacturer token id, or pass manufacturer_node");
    manufacturer = it->second;
  }
  p.manufacturer_node = token_id(manufacturer, "manufacturer node", c);
  p.device_definition_id = in.device_definition_id.empty()
                               ? derive_device_definition_id(in.make, in.model, in.year)
                               : in.device_definition_id;
  if (p.device_definition_id.empty())
    throw MintError(connection_label(c) + "no device definition id can be derived from make '" +
                    in.make + "' and model '" + in.model + "': pass device_definition_id");
  p.attributes = {{"Make", in.make}, {"Model", in.model}, {"Year", std::to_string(in.year)}};

  std::vector<std::string> names, infos;
  for (const auto& [name, info] : p.attributes) {
    names.push_back(name);
    infos.push_back(info);
  }
  p.owner_data.primary_type = "MintVehicleWithDeviceDefinitionSign";
  p.owner_data.types = {{p.owner_data.primary_type,
                         {{"manufacturerNode", "uint256"},
                          {"owner", "address"},
                          {"deviceDefinitionId", "string"},
                          {"attributes", "string[]"},
                          {"infos", "string[]"}}}};
  p.owner_data.message = eip712::Value::structure(
      {eip712::Value::uint(p.manufacturer_node), eip712::Value::address(p.owner),
       eip712::Value::string(p.device_definition_id), eip712::Value::strings(names),
       eip712::Value::strings(infos)});

  p.device_data.primary_type = "MintVehicleAndSdSign";
  p.device_data.types = {{p.device_data.primary_type, {{p.connection_field, "uint256"}}}};
  p.device_data.message = eip712::Value::structure({eip712::Value::uint(p.connection_id)});
}

void plan_existing_vehicle(Plan& p) {
  p.owner_data.primary_type = "MintSyntheticDeviceSign";
  p.owner_data.types = {
      {p.owner_data.primary_type, {{p.connection_field, "uint256"}, {"vehicleNode", "uint256"}}}};
  p.owner_data.message = eip712::Value::structure(
      {eip712::Value::uint(p.connection_id), eip712::Value::uint(p.vehicle_node)});
  // The owner and the device key sign the same struct (the registry checks both against it).
  p.device_data = p.owner_data;
}

Plan make_plan(const config::DimoConfig& dimo, vault::KeyVault& vault,
               const host::ConnectionView& c, const MintInputs& in) {
  Plan p;
  if (dimo.connection_id.empty())
    throw MintError(connection_label(c) +
                    "dimo.connection_id is not set: configure this integration's connection "
                    "(integration node) token id to mint");
  p.connection_id = token_id(dimo.connection_id, "dimo.connection_id", c);
  p.connection_field = dimo.connection_field.empty() ? "connectionId" : dimo.connection_field;
  if (in.owner.empty()) throw MintError(connection_label(c) + "the owner's address is missing");
  const std::optional<crypto::Address20> owner = crypto::parse_address(in.owner);
  if (!owner)
    throw MintError(connection_label(c) + "owner '" + in.owner +
                    "' is not an Ethereum address (0x + 40 hex digits)");
  p.owner = *owner;

  p.device = vault.address(c.key_child);
  if (!c.device_address.empty() && crypto::parse_address(c.device_address) != p.device)
    throw MintError(connection_label(c) + "its device address " + c.device_address +
                    " is not key child " + std::to_string(c.key_child) + "'s (" +
                    crypto::to_checksum_address(p.device) + "); nothing was signed");

  p.vehicle_node = in.vehicle_token_id != 0 ? in.vehicle_token_id : c.vehicle_token_id;
  p.new_vehicle = p.vehicle_node == 0;
  p.owner_data.domain = domain_of(dimo, c);
  p.device_data.domain = p.owner_data.domain;
  if (p.new_vehicle) {
    plan_new_vehicle(p, dimo, c, in);
  } else {
    plan_existing_vehicle(p);
  }
  p.device_signature = vault.sign_hash(c.key_child, eip712::digest(p.device_data));
  return p;
}

std::string address_text(const crypto::Address20& a) {
  return crypto::to_checksum_address(a);
}

boost::json::object common_fields(const Plan& p, const config::DimoConfig& dimo) {
  boost::json::object out;
  out["path"] = p.new_vehicle ? kPathNewVehicle : kPathExistingVehicle;
  out["registry"] = address_text(p.owner_data.domain.verifying_contract);
  out["chain_id"] = dimo.chain_id;
  return out;
}

boost::json::array attribute_pairs(const std::vector<std::pair<std::string, std::string>>& list) {
  boost::json::array out;
  for (const auto& [attribute, info] : list)
    out.push_back(boost::json::object{{"attribute", attribute}, {"info", info}});
  return out;
}

// The registry call's input struct, field by field in ABI order (dimo-identity
// contracts/shared/Types.sol, go-transactions' registry bindings: MintVehicleAndSdWithDdInput and
// MintSyntheticDeviceInput). uint256 as decimal strings, bytes as 0x-hex, addresses EIP-55.
boost::json::object call_args(const Plan& p, const crypto::Signature65& owner_sig) {
  boost::json::object args;
  const std::string connection_id = to_decimal(p.connection_id);
  if (p.new_vehicle) {
    args["manufacturerNode"] = to_decimal(p.manufacturer_node);
    args["owner"] = address_text(p.owner);
    args["deviceDefinitionId"] = p.device_definition_id;
    args["attrInfoPairsVehicle"] = attribute_pairs(p.attributes);
    args[p.connection_field] = connection_id;
    args["vehicleOwnerSig"] = crypto::signature_hex(owner_sig);
    args["syntheticDeviceSig"] = crypto::signature_hex(p.device_signature);
    args["syntheticDeviceAddr"] = address_text(p.device);
    args["attrInfoPairsDevice"] = boost::json::array();
  } else {
    args[p.connection_field] = connection_id;
    args["vehicleNode"] = std::to_string(p.vehicle_node);
    args["syntheticDeviceSig"] = crypto::signature_hex(p.device_signature);
    args["vehicleOwnerSig"] = crypto::signature_hex(owner_sig);
    args["syntheticDeviceAddr"] = address_text(p.device);
    args["attrInfoPairs"] = boost::json::array();
  }
  return args;
}

// The owner's signature as 65 bytes with v = 27/28, or MintError saying what is wrong with it.
crypto::Signature65 checked_owner_signature(const Plan& p, const host::ConnectionView& c,
                                            std::string_view text) {
  if (!text.starts_with("0x") || text.size() % 2 != 0 || text.size() < 4)
    throw MintError(connection_label(c) + "the owner signature is not 0x-prefixed hex");
  for (char ch : text.substr(2)) {
    if (hex_digit_value(ch) < 0)
      throw MintError(connection_label(c) + "the owner signature is not 0x-prefixed hex");
  }
  // Smart-contract wallets sign with ERC-1271 (or wrap it as ERC-6492): anything but 65 bytes is
  // one, and it can only be checked on chain, so it is named instead of silently accepted.
  if (text.size() != 2 + 130)
    throw MintError(connection_label(c) + "the owner signature is " +
                    std::to_string((text.size() - 2) / 2) +
                    " bytes, not 65: contract wallets (ERC-1271) are not supported: sign with "
                    "the owner's EOA");
  std::optional<crypto::Signature65> sig = crypto::parse_signature_hex(text);
  if (!sig) throw MintError(connection_label(c) + "the owner signature is not 0x-prefixed hex");
  const std::optional<crypto::Address20> signer =
      crypto::recover_address(eip712::digest(p.owner_data), *sig);
  if (!signer)
    throw MintError(connection_label(c) +
                    "the owner signature is malformed (v must be 27/28 or 0/1, r and s in range, "
                    "s in the lower half): no key could have made it");
  if (*signer != p.owner)
    throw MintError(connection_label(c) + "owner signature recovers to " + address_text(*signer) +
                    " not " + address_text(p.owner));
  // The registry recovers with ecrecover, which wants v = 27/28.
  if ((*sig)[64] < 27) (*sig)[64] = static_cast<uint8_t>((*sig)[64] + 27);
  return *sig;
}

}  // namespace

MintRequestBuilder::MintRequestBuilder(const config::DimoConfig& dimo, vault::KeyVault& vault)
    : dimo_(dimo), vault_(vault) {}

std::string MintRequestBuilder::prepare(const host::ConnectionView& c, const MintInputs& in) {
  const Plan p = make_plan(dimo_, vault_, c, in);
  boost::json::object out = common_fields(p, dimo_);
  out["device_address"] = address_text(p.device);
  out["owner"] = address_text(p.owner);
  out["owner_typed_data"] = eip712::to_json(p.owner_data);
  out["device_typed_data"] = eip712::to_json(p.device_data);
  out["device_signature"] = crypto::signature_hex(p.device_signature);
  return boost::json::serialize(out);
}

std::string MintRequestBuilder::complete(const host::ConnectionView& c, const MintInputs& in,
                                         std::string_view owner_signature) {
  const Plan p = make_plan(dimo_, vault_, c, in);
  const crypto::Signature65 owner_sig = checked_owner_signature(p, c, owner_signature);
  boost::json::object out = common_fields(p, dimo_);
  out["function"] =
      p.new_vehicle ? "mintVehicleAndSdWithDeviceDefinitionSign" : "mintSyntheticDeviceSign";
  out["input_struct"] = p.new_vehicle ? "MintVehicleAndSdWithDdInput" : "MintSyntheticDeviceInput";
  out["args"] = call_args(p, owner_sig);
  out["owner_typed_data"] = eip712::to_json(p.owner_data);
  out["device_typed_data"] = eip712::to_json(p.device_data);
  return boost::json::serialize(out);
}

std::string derive_device_definition_id(std::string_view make, std::string_view model,
                                        uint32_t year) {
  const auto slug = [](std::string_view name) {
    std::string out;
    bool gap = false;
    for (char ch : name) {
      const char lower = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
      if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9')) {
        if (gap && !out.empty()) out.push_back('-');
        out.push_back(lower);
        gap = false;
      } else {
        gap = true;
      }
    }
    return out;
  };
  const std::string m = slug(make), n = slug(model);
  if (m.empty() || n.empty() || year == 0) return {};
  return m + "_" + n + "_" + std::to_string(year);
}

}  // namespace oemlink::link
