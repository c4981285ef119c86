// EIP-712 against the EIP's own example (eips.ethereum.org/EIPS/eip-712, "Example": Mail/Person,
// its encodeType, typeHash, domain separator, hashStruct, digest, and the signature by
// keccak256("cow")), the 256-bit decimal text, and EIP-55 case checks.
#include "core/crypto/eip712.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "core/common/eip55.hpp"
#include "core/common/hex.hpp"
#include "core/common/uint256.hpp"
#include "tests/crypto/test_hex.hpp"

namespace oemlink::crypto {
namespace {

using eip712::Value;

std::string hex0x(std::span<const uint8_t> b) {
  return "0x" + to_hex(b);
}

struct MailExample {
  eip712::Types types = {
      {"Person", {{"name", "string"}, {"wallet", "address"}}},
      {"Mail", {{"from", "Person"}, {"to", "Person"}, {"contents", "string"}}},
  };
  eip712::Domain domain{"Ether Mail", "1", 1,
                        test::arr<20>("CcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC")};
  Value message = Value::structure(
      {Value::structure({Value::string("Cow"), Value::address(test::arr<20>(
                                                   "CD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"))}),
       Value::structure({Value::string("Bob"), Value::address(test::arr<20>(
                                                   "bBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"))}),
       Value::string("Hello, Bob!")});
  eip712::TypedData data() const { return {types, "Mail", domain, message}; }
};

TEST(Eip712, TheSpecsMailExample) {
  const MailExample ex;
  EXPECT_EQ(eip712::encode_type(ex.types, "Mail"),
            "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
  EXPECT_EQ(hex0x(eip712::type_hash(ex.types, "Mail")),
            "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
  EXPECT_EQ(hex0x(eip712::domain_separator(ex.domain)),
            "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  EXPECT_EQ(hex0x(eip712::hash_struct(ex.types, "Mail", ex.message)),
            "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  const Hash32 digest = eip712::digest(ex.data());
  EXPECT_EQ(hex0x(digest), "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

  // The EIP's signer is keccak256("cow"); RFC 6979 gives the EIP's signature bytes exactly.
  const PrivateKey cow = keccak256(std::string_view("cow"));
  EXPECT_EQ(to_checksum_address(address_of(cow)), "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
  const Signature65 sig = sign_hash(cow, digest);
  EXPECT_EQ(signature_hex(sig),
            "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
            "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c");
}

TEST(Eip712, RecoveryAcceptsVAs27Or28And0Or1AndComparesAddresses) {
  const MailExample ex;
  const Hash32 digest = eip712::digest(ex.data());
  Signature65 sig = sign_hash(keccak256(std::string_view("cow")), digest);
  const Address20 cow = test::arr<20>("CD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
  ASSERT_EQ(recover_address(digest, sig), cow);
  sig[64] = static_cast<uint8_t>(sig[64] - 27);  // 0/1 form, as some wallets write it
  EXPECT_EQ(recover_address(digest, sig), cow);
  // A different message recovers to some other address, never the signer's.
  MailExample other;
  other.message.items[2] = Value::string("Hello, Alice!");
  const auto who = recover_address(eip712::digest(other.data()), sig);
  ASSERT_TRUE(who.has_value());
  EXPECT_NE(*who, cow);
  sig[64] = 29;
  EXPECT_FALSE(recover_address(digest, sig).has_value());
}

TEST(Eip712, JsonIsWhatEthSignTypedDataV4Takes) {
  const MailExample ex;
  const std::string json = boost::json::serialize(eip712::to_json(ex.data()));
  EXPECT_EQ(
      json,
      R"({"types":{"EIP712Domain":[{"name":"name","type":"string"},)"
      R"({"name":"version","type":"string"},{"name":"chainId","type":"uint256"},)"
      R"({"name":"verifyingContract","type":"address"}],)"
      R"("Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person"},)"
      R"({"name":"contents","type":"string"}],)"
      R"("Person":[{"name":"name","type":"string"},{"name":"wallet","type":"address"}]},)"
      R"("primaryType":"Mail","domain":{"name":"Ether Mail","version":"1","chainId":1,)"
      R"("verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},)"
      R"("message":{"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},)"
      R"("to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},)"
      R"("contents":"Hello, Bob!"}})");
}

TEST(Eip712, StringArraysAndBigUintsEncodeAsTheSpecSays) {
  const eip712::Types types = {{"T", {{"n", "uint256"}, {"list", "string[]"}, {"b", "bytes32"}}}};
  const Uint256 big = *parse_uint256_decimal(
      "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  Hash32 b{};
  b[0] = 0xab;
  const Value v =
      Value::structure({Value::uint(big), Value::strings({"a", "bc"}), Value::bytes32(b)});
  const std::vector<uint8_t> enc = eip712::encode_data(types, "T", v);
  ASSERT_EQ(enc.size(), 4u * 32);
  // typeHash, then the uint as is, then keccak256(keccak256("a") || keccak256("bc")), then b.
  const Hash32 th = keccak256(std::string_view("T(uint256 n,string[] list,bytes32 b)"));
  EXPECT_TRUE(std::equal(th.begin(), th.end(), enc.begin()));
  EXPECT_TRUE(std::all_of(enc.begin() + 32, enc.begin() + 64, [](uint8_t x) { return x == 0xff; }));
  Keccak256 h;
  h.update(keccak256(std::string_view("a")));
  h.update(keccak256(std::string_view("bc")));
  const Hash32 list = h.finalize();
  EXPECT_TRUE(std::equal(list.begin(), list.end(), enc.begin() + 64));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), enc.begin() + 96));
  const std::string json =
      boost::json::serialize(eip712::to_json({types, "T", {"D", "1", 137, {}}, v}));
  EXPECT_NE(
      json.find(
          R"("n":"115792089237316195423570985008687907853269984665640564039457584007913129639935")"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("list":["a","bc"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("b":"0xab00)"), std::string::npos) << json;
}

TEST(Eip712, AValueOfTheWrongKindOrAnUndeclaredTypeIsNamed) {
  const eip712::Types types = {{"T", {{"n", "uint256"}, {"who", "Missing"}}}};
  const eip712::Types declared = {{"T", {{"n", "uint256"}, {"s", "string"}}}};
  try {
    (void)eip712::encode_data(declared, "T",
                              Value::structure({Value::string("x"), Value::string("y")}));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("field 'n' of T"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)eip712::encode_type(types, "T"), std::invalid_argument);
  EXPECT_THROW((void)eip712::encode_data(declared, "T", Value::structure({Value::uint(1)})),
               std::invalid_argument);
}

TEST(Uint256, DecimalTextBothWays) {
  const std::string max =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  const auto v = parse_uint256_decimal(max);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(std::all_of(v->begin(), v->end(), [](uint8_t b) { return b == 0xff; }));
  EXPECT_EQ(to_decimal(*v), max);
  EXPECT_EQ(to_decimal(uint256_of(0)), "0");
  EXPECT_EQ(to_decimal(uint256_of(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(to_decimal(*parse_uint256_decimal("18446744073709551616")), "18446744073709551616");
  EXPECT_EQ(*parse_uint256_decimal("007"), uint256_of(7));
  // 2^256 overflows; signs, spaces, hex, empty and 79 digits are not decimal uint256.
  EXPECT_FALSE(parse_uint256_decimal(
      "115792089237316195423570985008687907853269984665640564039457584007913129639936"));
  for (const char* bad :
       {"", "-1", "+1", " 1", "1 ", "0x10", "1e5", "12a",
        "1000000000000000000000000000000000000000000000000000000000000000000000000000000"})
    EXPECT_FALSE(parse_uint256_decimal(bad).has_value()) << bad;
}

TEST(Eip55Text, MixedCaseMustBeTheChecksum) {
  EXPECT_TRUE(is_checksum_valid_address("0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC"));
  EXPECT_TRUE(is_checksum_valid_address("0xfa8bec73cebb9d88ff88a2f75e7d7312f2fd39ec"));
  EXPECT_TRUE(is_checksum_valid_address("0xFA8BEC73CEBB9D88FF88A2F75E7D7312F2FD39EC"));
  EXPECT_FALSE(
      is_checksum_valid_address("0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39Ec"));  // one case
  EXPECT_FALSE(is_checksum_valid_address("0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39E"));
  EXPECT_FALSE(is_checksum_valid_address("FA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC00"));
  EXPECT_FALSE(is_checksum_valid_address("0xZA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC"));
  EXPECT_EQ(eip55_address("fa8bec73cebb9d88ff88a2f75e7d7312f2fd39ec"),
            "0xFA8beC73cebB9D88FF88a2f75E7D7312f2Fd39EC");
}

}  // namespace
}  // namespace oemlink::crypto
