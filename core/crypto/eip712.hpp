// EIP-712 typed structured data: encodeType, typeHash, encodeData, hashStruct, the domain
// separator and the digest a wallet signs (https://eips.ethereum.org/EIPS/eip-712), plus the
// JSON form eth_signTypedData_v4 and ethers' TypedDataEncoder take.
//
// Types supported: uint256, address, bytes32, string, structs of them, and arrays (T[]) of any
// of these. That covers DIMO's registry types (dimo-wire.md §6, §6a) and the EIP's own example.
//
// Thread rule: pure functions, callable from any thread.
// Failure rule: a value that does not match its declared type, an undeclared struct type or a
// field type outside the list above is a programming error in the caller's type table: it throws
// std::invalid_argument naming the type and field.
#pragma once

#include "core/common/uint256.hpp"
#include "core/crypto/keccak.hpp"
#include "core/crypto/secp256k1_signer.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::crypto::eip712 {

struct Field {
  std::string name;
  std::string
      type;  // "uint256", "address", "bytes32", "string", a struct name, or any of these + "[]"
};

// Struct name -> its fields in declaration order. Holds every struct the primary type reaches
// (not EIP712Domain, which Domain below describes).
using Types = std::map<std::string, std::vector<Field>>;

// One value, tagged with what it is so it can be checked against the declared field type.
struct Value {
  enum class Kind { uint256, address, bytes32, string, array, structure };
  Kind kind = Kind::uint256;
  std::array<uint8_t, 32> word{};  // uint256 and bytes32: 32 bytes; address: the first 20
  std::string text;                // string
  std::vector<Value> items;        // array elements, or a struct's fields in declaration order

  static Value uint(const Uint256& v);
  static Value uint(uint64_t v);
  static Value address(const Address20& a);
  static Value bytes32(const Hash32& b);
  static Value string(std::string s);
  static Value array(std::vector<Value> elements);
  static Value strings(const std::vector<std::string>& elements);  // a string[] value
  static Value structure(std::vector<Value> fields);
};

// The EIP712Domain DIMO uses (and the EIP's example): all four fields, in this order.
struct Domain {
  std::string name;
  std::string version;
  uint64_t chain_id = 0;
  Address20 verifying_contract{};
};

struct TypedData {
  Types types;
  std::string primary_type;
  Domain domain;
  Value message;  // a structure of primary_type
};

// Returns: encodeType(name): "Name(type1 name1,...)" followed by every struct it references
// (directly or through other structs), sorted by name. Throws std::invalid_argument when `name`
// or a referenced struct is not in `types`.
[[nodiscard]] std::string encode_type(const Types& types, std::string_view name);

// Returns: keccak256(encode_type(types, name)).
[[nodiscard]] Hash32 type_hash(const Types& types, std::string_view name);

// Returns: encodeData: typeHash || one 32-byte word per field (atomic values padded, strings and
// arrays hashed, structs by hashStruct). Throws std::invalid_argument on a value/type mismatch.
[[nodiscard]] std::vector<uint8_t> encode_data(const Types& types, std::string_view name,
                                               const Value& value);

// Returns: hashStruct = keccak256(encode_data(...)).
[[nodiscard]] Hash32 hash_struct(const Types& types, std::string_view name, const Value& value);

// Returns: hashStruct of the EIP712Domain(string name,string version,uint256 chainId,address
// verifyingContract).
[[nodiscard]] Hash32 domain_separator(const Domain& domain);

// Returns: keccak256(0x19 0x01 || domainSeparator || hashStruct(message)): what the signer signs.
[[nodiscard]] Hash32 digest(const TypedData& data);

// Returns: {"types":{"EIP712Domain":[...],<each struct>:[...]},"primaryType":...,"domain":{name,
// version,chainId,verifyingContract},"message":{...}} as eth_signTypedData_v4 and ethers expect:
// uint256 as decimal strings (token ids exceed JSON's safe integers), chainId as a number,
// addresses in EIP-55 case, bytes32 as 0x + 64 hex. Throws std::invalid_argument as encode_data.
[[nodiscard]] boost::json::object to_json(const TypedData& data);

}  // namespace oemlink::crypto::eip712
