#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

constexpr TextCheck kAddress{is_ethereum_address,
                             "expected an Ethereum address (0x + 40 hex digits)"};

constexpr TextCheck kChecksummedAddress{
    is_checksum_valid_ethereum_address,
    "expected an Ethereum address (0x + 40 hex digits); in mixed case it must be a valid EIP-55 "
    "checksum (or write it all lowercase)"};
constexpr TextCheck kTokenId{is_token_id,
                             "expected a token id: a decimal integer from 1 to 2^256 - 1, without "
                             "sign or leading zeros"};
constexpr TextCheck kTokenIdOrEmpty{is_token_id_or_empty, kTokenId.problem};

constexpr std::string_view kConnectionFields[] = {"connectionId", "integrationNode"};

const Setting<DimoConfig> kRows[] = {
    {{.key = "chain_id",
      .type = SettingType::integer,
      .default_value = "137",
      .description = "in `producer` / `subject` DIDs (137: Polygon)"},
     &DimoConfig::chain_id},
    {{.key = "vehicle_contract",
      .type = SettingType::string,
      .default_value = "0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF",
      .description = "vehicle NFT contract",
      .check = kAddress,
      .shape = "address (`0x` + 40 hex)"},
     &DimoConfig::vehicle_contract},
    {{.key = "synthetic_device_contract",
      .type = SettingType::string,
      .default_value = "0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D",
      .description = "synthetic device NFT contract",
      .check = kAddress,
      .shape = "address"},
     &DimoConfig::synthetic_device_contract},
    {{.key = "source",
      .type = SettingType::string,
      .default_value = "0xc4035Fecb1cc906130423EF05f9C20977F643722",
      .description = "the integration's address; DIS replaces it with the mTLS client "
                     "certificate's CN, so keep them equal",
      .check = kAddress,
      .shape = "address"},
     &DimoConfig::source},
    {{.key = "registry_contract",
      .type = SettingType::string,
      .default_value = "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC",
      .description = "the DIMO registry: the `verifyingContract` of every mint signature's "
                     "EIP-712 domain, and the contract the mint request calls",
      .check = kChecksummedAddress,
      .shape = "address; mixed case must be a valid EIP-55 checksum"},
     &DimoConfig::registry_contract},
    {{.key = "connection_id",
      .type = SettingType::string,
      .default_note = "unset: linking answers without mint data",
      .description = "this integration's connection (integration node) token id, signed into "
                     "every mint; a YAML integer or a string, as it may exceed 64 bits",
      .check = kTokenIdOrEmpty,
      .shape = "decimal uint256"},
     &DimoConfig::connection_id},
    {{.key = "connection_field",
      .type = SettingType::choice,
      .default_value = "connectionId",
      .description = "the name of that token id's field in the registry's typed data: "
                     "`integrationNode` for older registry deployments",
      .choices = kConnectionFields},
     &DimoConfig::connection_field},
    {{.key = "manufacturer_nodes",
      .type = SettingType::string_map,
      .default_note = "empty",
      .description = "manufacturer token id by make (`Tesla: \"137\"`), for minting a new "
                     "vehicle NFT",
      .check = kTokenId,
      .shape = "make: decimal uint256"},
     &DimoConfig::manufacturer_nodes},
};

}  // namespace

const SettingBlock<DimoConfig> kDimoBlock{
    .path = "dimo",
    .intro =
        "Chain constants for every event's envelope and for minting linked cars' synthetic "
        "devices. Defaults are DIMO's production values, kept in configuration so that a testnet "
        "or another integration needs no rebuild.",
    .rows = kRows,
};

}  // namespace oemlink::config
