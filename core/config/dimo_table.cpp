#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

constexpr TextCheck kAddress{is_ethereum_address,
                             "expected an Ethereum address (0x + 40 hex digits)"};

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
};

}  // namespace

const SettingBlock<DimoConfig> kDimoBlock{
    .path = "dimo",
    .intro =
        "Chain constants for every event's envelope. Defaults are DIMO's production values, "
        "kept in configuration so that a testnet or another integration needs no rebuild.",
    .rows = kRows,
};

}  // namespace oemlink::config
