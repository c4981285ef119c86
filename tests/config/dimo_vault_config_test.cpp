// The `dimo:` and `vault:` sections: chain constants for the envelope and where the key vault
// and its key-encryption key come from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/config.hpp"
#include "tests/config/test_support.hpp"

namespace oemlink::config {
namespace {

using ::testing::HasSubstr;
using testing::load_error;
using testing::yaml;

TEST(DimoVaultConfig, DefaultsAreDimoProductionAndTheDataDir) {
  Config c = load_config_text("data_dir: /srv/oemlink\n", "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.dimo.chain_id, 137u);
  EXPECT_EQ(c.dimo.vehicle_contract, "0xbA5738a18d83D41847dfFbDC6101d37C69c9B0cF");
  EXPECT_EQ(c.dimo.synthetic_device_contract, "0x4804e8D1661cd1a1e5dDdE1ff458A7f878c0aC6D");
  EXPECT_EQ(c.dimo.source, "0xc4035Fecb1cc906130423EF05f9C20977F643722");
  EXPECT_EQ(c.vault.file, "/srv/oemlink/vault.sealed");
  EXPECT_EQ(c.vault.keyd_socket, "/srv/oemlink/keyd.sock");
  EXPECT_EQ(c.vault.kek.kind, KekSourceConfig::Kind::env);
  EXPECT_EQ(c.vault.kek.value, "OEMLINK_KEK");
  EXPECT_EQ(c.vault.backend, VaultSettings::Backend::in_process);
  EXPECT_FALSE(c.vault.create_if_missing);
}

TEST(DimoVaultConfig, ReadsEveryKey) {
  Config c = load_config_text(yaml(R"(
data_dir: /srv/oemlink
dimo:
  chain_id: 80002
  vehicle_contract: "0x0000000000000000000000000000000000000001"
  synthetic_device_contract: "0x0000000000000000000000000000000000000002"
  source: "0x0000000000000000000000000000000000000003"
vault:
  file: keys/vault.sealed
  kek: {file: secrets/kek.hex}
  backend: keyd
  keyd_socket: /run/oemlink/keyd.sock
  keyd_uid: 998
  create_if_missing: true
data_kek: {command: "kms-decrypt --key oemlink-data"}
)"),
                              "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.dimo.chain_id, 80002u);
  EXPECT_EQ(c.dimo.source, "0x0000000000000000000000000000000000000003");
  EXPECT_EQ(c.vault.file, "/srv/oemlink/keys/vault.sealed");
  EXPECT_EQ(c.vault.kek.kind, KekSourceConfig::Kind::file);
  EXPECT_EQ(c.vault.kek.value, "/etc/oemlink/secrets/kek.hex");
  EXPECT_EQ(c.vault.backend, VaultSettings::Backend::keyd);
  EXPECT_EQ(c.vault.keyd_socket, "/run/oemlink/keyd.sock");
  EXPECT_EQ(c.vault.keyd_uid, 998u);
  EXPECT_TRUE(c.vault.create_if_missing);
  ASSERT_TRUE(c.data_kek.has_value());
  EXPECT_EQ(c.data_kek->kind, KekSourceConfig::Kind::command);
  EXPECT_EQ(c.data_kek->value, "kms-decrypt --key oemlink-data");
}

// Two secrets: with keyd the host holds only the data KEK, so it must be given, and it must not
// be the seed's KEK under another name.
TEST(DimoVaultConfig, KeydNeedsADataKekOtherThanTheSeedKek) {
  EXPECT_THAT(load_error("vault: {backend: keyd}\n"),
              HasSubstr("vault.backend: backend keyd needs a top-level data_kek"));
  EXPECT_THAT(load_error("vault: {backend: keyd}\ndata_kek: {env: OEMLINK_KEK}\n"),
              HasSubstr("data_kek: is the same source as vault.kek"));
  EXPECT_THAT(load_error("vault: {kek: {file: k.hex}}\ndata_kek: {file: ./k.hex}\n"),
              HasSubstr("same source as vault.kek"));
  EXPECT_THAT(load_error("data_kek: {env: A, file: b}\n"),
              HasSubstr("data_kek: give exactly one of env, file or command"));
  Config c = load_config_text("vault: {backend: keyd}\ndata_kek: {env: OEMLINK_DATA_KEK}\n",
                              "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.data_kek->value, "OEMLINK_DATA_KEK");
  // in_process: data_kek may be left out (vault.kek seals the data keys too).
  EXPECT_FALSE(load_config_text("vault: {}\n", "test.yaml", "/etc").data_kek.has_value());
  EXPECT_EQ(load_config_text("vault: {}\n", "test.yaml", "/etc").vault.keyd_uid, kKeydSameUid);
}

TEST(DimoVaultConfig, KekFromACommand) {
  Config c = load_config_text("vault: {kek: {command: \"kms-decrypt --key oemlink\"}}\n",
                              "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.vault.kek.kind, KekSourceConfig::Kind::command);
  EXPECT_EQ(c.vault.kek.value, "kms-decrypt --key oemlink");
}

TEST(DimoVaultConfig, BadValuesArePositioned) {
  EXPECT_THAT(load_error(yaml(R"(
dimo:
  source: 0x123
)")),
              HasSubstr("test.yaml:2:11: dimo.source: expected an Ethereum address"));
  EXPECT_THAT(load_error("vault: {kek: {env: A, file: b}}\n"),
              HasSubstr("vault.kek: give exactly one of env, file or command"));
  EXPECT_THAT(load_error("vault: {backend: hsm}\n"), HasSubstr("vault.backend"));
  EXPECT_THAT(load_error("vault: {kek: {vault: x}}\n"), HasSubstr("unknown key \"vault\""));
}

TEST(DimoVaultConfig, MintKeysDefaultToDimoProductionAndUnset) {
  Config c = load_config_text("data_dir: /srv/oemlink\n", "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.dimo.registry_contract, "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC");
  EXPECT_EQ(c.dimo.connection_id, "");
  EXPECT_EQ(c.dimo.connection_field, "connectionId");
  EXPECT_TRUE(c.dimo.manufacturer_nodes.empty());
}

TEST(DimoVaultConfig, ReadsTheMintKeys) {
  // connection_id as a YAML integer bigger than 64 bits (2^256 - 1), and as a string.
  Config c = load_config_text(yaml(R"(
dimo:
  registry_contract: "0xfa8bec73cebb9d88ff88a2f75e7d7312f2fd39ec"
  connection_id: 115792089237316195423570985008687907853269984665640564039457584007913129639935
  connection_field: integrationNode
  manufacturer_nodes:
    Tesla: 137
    Ford: "42"
)"),
                              "test.yaml", "/etc/oemlink");
  EXPECT_EQ(c.dimo.registry_contract, "0xfa8bec73cebb9d88ff88a2f75e7d7312f2fd39ec");
  EXPECT_EQ(c.dimo.connection_id,
            "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_EQ(c.dimo.connection_field, "integrationNode");
  EXPECT_EQ(c.dimo.manufacturer_nodes,
            (std::map<std::string, std::string>{{"Ford", "42"}, {"Tesla", "137"}}));
  EXPECT_EQ(load_config_text("dimo: {connection_id: \"12345678901234567890123\"}\n", "t.yaml", "/")
                .dimo.connection_id,
            "12345678901234567890123");
}

TEST(DimoVaultConfig, BadMintKeysArePositioned) {
  // One mistyped character of a checksummed address (the last C made lowercase).
  EXPECT_THAT(load_error(yaml(R"(
dimo:
  registry_contract: "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39Ec"
)")),
              HasSubstr("test.yaml:2:22: dimo.registry_contract: expected an Ethereum address "
                        "(0x + 40 hex digits); in mixed case it must be a valid EIP-55 checksum"));
  EXPECT_THAT(load_error("dimo: {registry_contract: 0x12}\n"),
              HasSubstr("dimo.registry_contract: expected an Ethereum address"));
  // 2^256 overflows; signs, leading zeros, hex and decimals are refused.
  for (const char* bad :
       {"115792089237316195423570985008687907853269984665640564039457584007913129639936", "-5",
        "+5", "007", "0", "0x10", "1.5", "\" 5\""}) {
    EXPECT_THAT(load_error(std::string("dimo: {connection_id: ") + bad + "}\n"),
                HasSubstr("test.yaml:1:23: dimo.connection_id: expected a token id"))
        << bad;
  }
  EXPECT_THAT(load_error("dimo: {connection_field: vehicleNode}\n"),
              HasSubstr("dimo.connection_field"));
  EXPECT_THAT(load_error(yaml(R"(
dimo:
  manufacturer_nodes:
    Tesla: 137
    Ford: -1
)")),
              HasSubstr("test.yaml:4:11: dimo.manufacturer_nodes.Ford: expected a token id"));
  EXPECT_THAT(load_error("dimo: {manufacturer_nodes: [Tesla]}\n"),
              HasSubstr("dimo.manufacturer_nodes"));
}

}  // namespace
}  // namespace oemlink::config
