// MintRequestBuilder: both mint paths of dimo-wire.md §6a, written out here type by type from the
// spec (not from the builder), the device signature made in the vault and recovering to the
// device address, the owner's signature checked (right key accepted, another key refused naming
// both addresses, contract-wallet and malformed signatures named), idempotence, the named input
// errors, and ethers.js agreeing on every digest and signer from the JSON the builder wrote.
#include "core/link/mint_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/common/hex.hpp"
#include "core/common/uint256.hpp"
#include "core/crypto/eip712.hpp"
#include "core/vault/claimed_child_vault.hpp"
#include "tests/vault/test_support.hpp"

namespace oemlink::link {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace eip712 = crypto::eip712;
using eip712::Value;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Bigger than 64 bits on purpose: the connection id is a uint256.
constexpr const char* kConnectionId = "123456789012345678901234567890";
constexpr const char* kRegistry = "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC";

LockedBuffer dimo_seed() {
  LockedBuffer seed(32);
  const auto bytes = vault::test::unhex(vault::test::kDimoSeedHex);
  std::memcpy(seed.data(), bytes.data(), 32);
  return seed;
}

// A JSON string member's text ("<not a string>" otherwise), to compare with std::string.
std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string().c_str())
                       : "<not a string: " + json::serialize(v) + ">";
}

std::string hex0x(std::span<const uint8_t> b) {
  return "0x" + to_hex(b);
}

class MintRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dimo_.connection_id = kConnectionId;
    dimo_.manufacturer_nodes = {{"Tesla", "137"}};
    conn_.id = "tesla-0123456789ab";
    conn_.driver = "tesla";
    conn_.key_child = vault_.claim_next(conn_.id);
    conn_.device_address = crypto::to_checksum_address(vault_.address(conn_.key_child));
    owner_ = crypto::to_checksum_address(crypto::address_of(owner_key_));
    in_.owner = owner_;
    in_.make = "Tesla";
    in_.model = "Model 3";
    in_.year = 2023;
  }

  eip712::Domain domain() const { return {"DIMO", "1", 137, *crypto::parse_address(kRegistry)}; }

  // The spec's types, written out independently of the builder.
  eip712::TypedData owner_new_vehicle() const {
    return {{{"MintVehicleWithDeviceDefinitionSign",
              {{"manufacturerNode", "uint256"},
               {"owner", "address"},
               {"deviceDefinitionId", "string"},
               {"attributes", "string[]"},
               {"infos", "string[]"}}}},
            "MintVehicleWithDeviceDefinitionSign",
            domain(),
            Value::structure({Value::uint(137), Value::address(*crypto::parse_address(owner_)),
                              Value::string("tesla_model-3_2023"),
                              Value::strings({"Make", "Model", "Year"}),
                              Value::strings({"Tesla", "Model 3", "2023"})})};
  }
  eip712::TypedData device_new_vehicle(const std::string& field = "connectionId") const {
    return {{{"MintVehicleAndSdSign", {{field, "uint256"}}}},
            "MintVehicleAndSdSign",
            domain(),
            Value::structure({Value::uint(*parse_uint256_decimal(kConnectionId))})};
  }
  eip712::TypedData synthetic_device(uint64_t vehicle) const {
    return {
        {{"MintSyntheticDeviceSign", {{"connectionId", "uint256"}, {"vehicleNode", "uint256"}}}},
        "MintSyntheticDeviceSign",
        domain(),
        Value::structure(
            {Value::uint(*parse_uint256_decimal(kConnectionId)), Value::uint(vehicle)})};
  }

  std::string owner_signs(const eip712::TypedData& d) const {
    return crypto::signature_hex(crypto::sign_hash(owner_key_, eip712::digest(d)));
  }

  std::string mint_error(const std::function<void()>& f) {
    try {
      f();
    } catch (const MintError& e) {
      return e.what();
    }
    return "";
  }

  vault::test::TempDir dir_;
  vault::ClaimedChildVault vault_{dimo_seed(), 16, dir_ / "keys.db", dir_ / "vault.sealed"};
  config::DimoConfig dimo_;
  host::ConnectionView conn_;
  const crypto::PrivateKey owner_key_ = crypto::keccak256(std::string_view("oemlink test owner"));
  const crypto::PrivateKey other_key_ = crypto::keccak256(std::string_view("someone else"));
  std::string owner_;
  MintInputs in_;
  MintRequestBuilder builder_{dimo_, vault_};
};

TEST_F(MintRequestTest, NewVehiclePathCarriesTheSpecsTypedDataAndADeviceSignatureFromTheVault) {
  const json::object out = json::parse(builder_.prepare(conn_, in_)).as_object();
  EXPECT_EQ(str(out.at("path")), "vehicle_and_synthetic_device");
  EXPECT_EQ(str(out.at("registry")), kRegistry);
  EXPECT_EQ(out.at("chain_id").to_number<uint64_t>(), 137u);
  EXPECT_EQ(str(out.at("device_address")), vault::test::kDimoAddresses[0]);
  EXPECT_EQ(str(out.at("owner")), owner_);
  EXPECT_EQ(out.at("owner_typed_data"), json::value(eip712::to_json(owner_new_vehicle())));
  EXPECT_EQ(out.at("device_typed_data"), json::value(eip712::to_json(device_new_vehicle())));
  const auto sig = crypto::parse_signature_hex(out.at("device_signature").as_string());
  ASSERT_TRUE(sig.has_value());
  const auto who = crypto::recover_address(eip712::digest(device_new_vehicle()), *sig);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(crypto::to_checksum_address(*who), vault::test::kDimoAddresses[0]);
  // The uint256 connection id travels as a decimal string, never a lossy JSON number.
  EXPECT_EQ(str(out.at("device_typed_data").at("message").at("connectionId")), kConnectionId);
}

TEST_F(MintRequestTest, NewVehicleCompleteIsTheRegistryCallWithBothSignatures) {
  const json::object prepared = json::parse(builder_.prepare(conn_, in_)).as_object();
  const std::string owner_sig = owner_signs(owner_new_vehicle());
  const json::object out = json::parse(builder_.complete(conn_, in_, owner_sig)).as_object();
  EXPECT_EQ(str(out.at("function")), "mintVehicleAndSdWithDeviceDefinitionSign");
  EXPECT_EQ(str(out.at("input_struct")), "MintVehicleAndSdWithDdInput");
  const json::object& args = out.at("args").as_object();
  std::vector<std::string> order;
  for (const auto& kv : args) order.emplace_back(kv.key());
  EXPECT_EQ(order, (std::vector<std::string>{"manufacturerNode", "owner", "deviceDefinitionId",
                                             "attrInfoPairsVehicle", "connectionId",
                                             "vehicleOwnerSig", "syntheticDeviceSig",
                                             "syntheticDeviceAddr", "attrInfoPairsDevice"}));
  EXPECT_EQ(str(args.at("manufacturerNode")), "137");
  EXPECT_EQ(str(args.at("owner")), owner_);
  EXPECT_EQ(str(args.at("deviceDefinitionId")), "tesla_model-3_2023");
  EXPECT_EQ(json::serialize(args.at("attrInfoPairsVehicle")),
            R"([{"attribute":"Make","info":"Tesla"},{"attribute":"Model","info":"Model 3"},)"
            R"({"attribute":"Year","info":"2023"}])");
  EXPECT_EQ(str(args.at("connectionId")), kConnectionId);
  EXPECT_EQ(str(args.at("vehicleOwnerSig")), owner_sig);
  EXPECT_EQ(args.at("syntheticDeviceSig"), prepared.at("device_signature"));
  EXPECT_EQ(str(args.at("syntheticDeviceAddr")), vault::test::kDimoAddresses[0]);
  EXPECT_EQ(out.at("owner_typed_data"), prepared.at("owner_typed_data"));
}

TEST_F(MintRequestTest, ExistingVehiclePathBothSignTheSyntheticDeviceStruct) {
  conn_.vehicle_token_id = 42;  // the connection knows its vehicle NFT
  const json::object out = json::parse(builder_.prepare(conn_, in_)).as_object();
  EXPECT_EQ(str(out.at("path")), "synthetic_device");
  EXPECT_EQ(out.at("owner_typed_data"), json::value(eip712::to_json(synthetic_device(42))));
  EXPECT_EQ(out.at("device_typed_data"), out.at("owner_typed_data"));
  const auto sig = crypto::parse_signature_hex(out.at("device_signature").as_string());
  EXPECT_EQ(crypto::recover_address(eip712::digest(synthetic_device(42)), *sig),
            vault_.address(conn_.key_child));

  const std::string owner_sig = owner_signs(synthetic_device(42));
  const json::object done = json::parse(builder_.complete(conn_, in_, owner_sig)).as_object();
  EXPECT_EQ(str(done.at("function")), "mintSyntheticDeviceSign");
  EXPECT_EQ(str(done.at("input_struct")), "MintSyntheticDeviceInput");
  std::vector<std::string> order;
  for (const auto& kv : done.at("args").as_object()) order.emplace_back(kv.key());
  EXPECT_EQ(order,
            (std::vector<std::string>{"connectionId", "vehicleNode", "syntheticDeviceSig",
                                      "vehicleOwnerSig", "syntheticDeviceAddr", "attrInfoPairs"}));
  EXPECT_EQ(str(done.at("args").at("vehicleNode")), "42");
  // An explicit token id in the inputs wins over the connection's.
  in_.vehicle_token_id = 43;
  EXPECT_EQ(json::parse(builder_.prepare(conn_, in_)).at("owner_typed_data"),
            json::value(eip712::to_json(synthetic_device(43))));
}

TEST_F(MintRequestTest, AnotherKeysSignatureIsRefusedNamingBothAddresses) {
  const std::string sig =
      crypto::signature_hex(crypto::sign_hash(other_key_, eip712::digest(owner_new_vehicle())));
  const std::string other = crypto::to_checksum_address(crypto::address_of(other_key_));
  EXPECT_THAT(mint_error([&] { (void)builder_.complete(conn_, in_, sig); }),
              HasSubstr("owner signature recovers to " + other + " not " + owner_));
  // The owner's signature over the other path's struct recovers elsewhere too.
  const std::string wrong_struct = owner_signs(synthetic_device(42));
  EXPECT_THAT(mint_error([&] { (void)builder_.complete(conn_, in_, wrong_struct); }),
              HasSubstr("owner signature recovers to"));
}

TEST_F(MintRequestTest, ContractWalletAndMalformedSignaturesAreNamed) {
  const std::string erc1271 = "0x" + std::string(2 * 96, 'a');
  EXPECT_THAT(
      mint_error([&] { (void)builder_.complete(conn_, in_, erc1271); }),
      HasSubstr("contract wallets (ERC-1271) are not supported: sign with the owner's EOA"));
  EXPECT_THAT(mint_error([&] { (void)builder_.complete(conn_, in_, "0x1234"); }),
              HasSubstr("contract wallets (ERC-1271) are not supported"));
  EXPECT_THAT(mint_error([&] { (void)builder_.complete(conn_, in_, "not a signature"); }),
              HasSubstr("not 0x-prefixed hex"));
  const std::string zero_r = "0x" + std::string(64, '0') + std::string(64, '1') + "1b";
  EXPECT_THAT(mint_error([&] { (void)builder_.complete(conn_, in_, zero_r); }),
              HasSubstr("malformed"));
}

TEST_F(MintRequestTest, VAs0Or1IsAcceptedAndWrittenAs27Or28) {
  std::string sig = owner_signs(owner_new_vehicle());
  const std::string v27 = sig.substr(130);
  sig.replace(130, 2, v27 == "1b" ? "00" : "01");
  const json::object out = json::parse(builder_.complete(conn_, in_, sig)).as_object();
  EXPECT_EQ(std::string(out.at("args").at("vehicleOwnerSig").as_string().c_str()).substr(130), v27);
}

TEST_F(MintRequestTest, AskingAgainGivesTheSameBytesAndNoNewChild) {
  const std::string first = builder_.prepare(conn_, in_);
  EXPECT_EQ(builder_.prepare(conn_, in_), first);
  const std::string sig = owner_signs(owner_new_vehicle());
  EXPECT_EQ(builder_.complete(conn_, in_, sig), builder_.complete(conn_, in_, sig));
  EXPECT_EQ(vault_.claim_next(conn_.id), conn_.key_child);
  vault::ChildRegistry registry(dir_ / "keys.db");
  EXPECT_EQ(registry.claimed_count(), 1u);
}

TEST_F(MintRequestTest, TheLegacyFieldNameIsConfigurable) {
  dimo_.connection_field = "integrationNode";
  const json::object out = json::parse(builder_.prepare(conn_, in_)).as_object();
  EXPECT_EQ(out.at("device_typed_data"),
            json::value(eip712::to_json(device_new_vehicle("integrationNode"))));
  const std::string sig = owner_signs(owner_new_vehicle());
  const json::object done = json::parse(builder_.complete(conn_, in_, sig)).as_object();
  EXPECT_EQ(str(done.at("args").at("integrationNode")), kConnectionId);
  EXPECT_FALSE(done.at("args").as_object().contains("connectionId"));
}

TEST_F(MintRequestTest, BadOrMissingInputsAreNamed) {
  {
    MintInputs in = in_;
    in.owner = "0x1234";
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in); }),
                AllOf(HasSubstr("owner '0x1234'"), HasSubstr(conn_.id)));
    in.owner.clear();
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in); }), HasSubstr("owner"));
  }
  {
    MintInputs in = in_;
    in.make = "Rivian";
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in); }),
                AllOf(HasSubstr("no manufacturer node for make Rivian"),
                      HasSubstr("dimo.manufacturer_nodes.Rivian")));
    in.manufacturer_node = "0x10";
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in); }),
                HasSubstr("manufacturer node '0x10' is not a token id"));
    in.manufacturer_node = "99";
    EXPECT_NO_THROW((void)builder_.prepare(conn_, in));
  }
  {
    MintInputs in = in_;
    in.year = 0;
    in.model.clear();
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in); }),
                HasSubstr("missing: model, year"));
  }
  {
    host::ConnectionView c = conn_;
    c.device_address = vault::test::kDimoAddresses[1];
    EXPECT_THAT(mint_error([&] { (void)builder_.prepare(c, in_); }),
                HasSubstr("is not key child 0's"));
  }
  dimo_.connection_id.clear();
  EXPECT_THAT(mint_error([&] { (void)builder_.prepare(conn_, in_); }),
              HasSubstr("dimo.connection_id is not set"));
}

TEST(DeviceDefinitionId, DerivedFromMakeModelYear) {
  EXPECT_EQ(derive_device_definition_id("Tesla", "Model 3", 2023), "tesla_model-3_2023");
  EXPECT_EQ(derive_device_definition_id("Mercedes-Benz", " C 300  4MATIC ", 2021),
            "mercedes-benz_c-300-4matic_2021");
  EXPECT_EQ(derive_device_definition_id("Tesla", "", 2023), "");
  EXPECT_EQ(derive_device_definition_id("Tesla", "Model Y", 0), "");
}

// ethers.js, an independent Ethereum library, hashes the typed data JSON the builder wrote
// (TypedDataEncoder.hash must equal our digest) and recovers each signature (verifyTypedData must
// give the device address, or the owner's for the owner's struct): all three DIMO types.
TEST_F(MintRequestTest, EthersAgreesOnEveryDigestAndSigner) {
  const fs::path tool = fs::path(OEMLINK_SOURCE_DIR) / "tools/verify-with-ethers";
  if (!fs::exists(tool / "node_modules/ethers") || std::system("node --version >/dev/null 2>&1"))
    GTEST_SKIP() << "ethers.js not installed (tools/install-deps.sh runs npm ci there)";
  json::array cases;
  const auto add = [&](std::string name, const json::value& typed_data, const json::value& sig,
                       const std::string& signer, const eip712::TypedData& ours) {
    cases.push_back(json::object{{"name", std::move(name)},
                                 {"typed_data", typed_data},
                                 {"signature", sig},
                                 {"signer", signer},
                                 {"digest", hex0x(eip712::digest(ours))}});
  };
  const json::object fresh = json::parse(builder_.prepare(conn_, in_)).as_object();
  add("MintVehicleAndSdSign (device)", fresh.at("device_typed_data"), fresh.at("device_signature"),
      conn_.device_address, device_new_vehicle());
  add("MintVehicleWithDeviceDefinitionSign (owner)", fresh.at("owner_typed_data"),
      json::string(owner_signs(owner_new_vehicle())), owner_, owner_new_vehicle());

  host::ConnectionView existing = conn_;
  existing.id = "tesla-second-car";
  existing.key_child = vault_.claim_next(existing.id);
  existing.device_address = crypto::to_checksum_address(vault_.address(existing.key_child));
  existing.vehicle_token_id = 77;
  const json::object sd = json::parse(builder_.prepare(existing, in_)).as_object();
  add("MintSyntheticDeviceSign (device)", sd.at("device_typed_data"), sd.at("device_signature"),
      existing.device_address, synthetic_device(77));
  add("MintSyntheticDeviceSign (owner)", sd.at("owner_typed_data"),
      json::string(owner_signs(synthetic_device(77))), owner_, synthetic_device(77));
  // A negative control: ethers must see a wrong signer as wrong.
  add("wrong signer (expected bad)", sd.at("device_typed_data"), sd.at("device_signature"), owner_,
      synthetic_device(77));

  const fs::path file = dir_ / "cases.json";
  std::ofstream(file) << json::serialize(cases);
  const std::string cmd = "node '" + (tool / "verify-typed-data.mjs").string() + "' '" +
                          file.string() + "' > '" + (dir_ / "ethers.out").string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string out = vault::test::read_file(dir_ / "ethers.out");
  EXPECT_NE(rc, 0) << out;  // the negative control
  EXPECT_THAT(out, HasSubstr("4 ok, 1 bad")) << out;
  EXPECT_THAT(out, HasSubstr("BAD wrong signer (expected bad): signer " + existing.device_address +
                             ", expected " + owner_))
      << out;
}

}  // namespace
}  // namespace oemlink::link
