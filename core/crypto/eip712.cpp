#include "core/crypto/eip712.hpp"

#include "core/common/hex.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace oemlink::crypto::eip712 {
namespace {

const std::vector<Field>& fields_of(const Types& types, std::string_view name) {
  const auto it = types.find(std::string(name));
  if (it == types.end())
    throw std::invalid_argument("EIP-712: struct type '" + std::string(name) + "' is not declared");
  return it->second;
}

bool is_array(std::string_view type) {
  return type.ends_with("[]");
}

std::string_view element_type(std::string_view type) {
  return type.substr(0, type.size() - 2);
}

// The struct a field type names, through any array suffixes; empty for an atomic or dynamic type.
std::string_view struct_name(std::string_view type) {
  while (is_array(type)) type = element_type(type);
  if (type == "uint256" || type == "address" || type == "bytes32" || type == "string") return {};
  return type;
}

void collect_dependencies(const Types& types, std::string_view name, std::set<std::string>& found) {
  if (found.count(std::string(name))) return;
  found.insert(std::string(name));
  for (const Field& f : fields_of(types, name)) {
    const std::string_view dep = struct_name(f.type);
    if (!dep.empty()) collect_dependencies(types, dep, found);
  }
}

std::string encode_one_type(const Types& types, std::string_view name) {
  std::string out(name);
  out += '(';
  bool first = true;
  for (const Field& f : fields_of(types, name)) {
    if (!first) out += ',';
    first = false;
    out += f.type;
    out += ' ';
    out += f.name;
  }
  out += ')';
  return out;
}

[[noreturn]] void mismatch(std::string_view type, std::string_view what) {
  throw std::invalid_argument("EIP-712: a value of type '" + std::string(type) + "' " +
                              std::string(what));
}

void expect_kind(const Value& v, Value::Kind kind, std::string_view type) {
  if (v.kind != kind) mismatch(type, "holds a value of another kind");
}

// The 32-byte word encodeData writes for one field.
Hash32 encode_value(const Types& types, std::string_view type, const Value& v) {
  Hash32 word{};
  if (is_array(type)) {
    expect_kind(v, Value::Kind::array, type);
    Keccak256 h;
    for (const Value& item : v.items) {
      const Hash32 w = encode_value(types, element_type(type), item);
      h.update(w);
    }
    return h.finalize();
  }
  if (type == "uint256" || type == "bytes32") {
    expect_kind(v, type == "uint256" ? Value::Kind::uint256 : Value::Kind::bytes32, type);
    return v.word;
  }
  if (type == "address") {
    expect_kind(v, Value::Kind::address, type);
    std::copy_n(v.word.begin(), 20, word.begin() + 12);
    return word;
  }
  if (type == "string") {
    expect_kind(v, Value::Kind::string, type);
    return keccak256(std::string_view(v.text));
  }
  expect_kind(v, Value::Kind::structure, type);
  return hash_struct(types, type, v);
}

std::string hex_0x(std::span<const uint8_t> bytes) {
  return "0x" + to_hex(bytes);
}

boost::json::value value_json(const Types& types, std::string_view type, const Value& v);

boost::json::object struct_json(const Types& types, std::string_view name, const Value& v) {
  const std::vector<Field>& fields = fields_of(types, name);
  if (v.kind != Value::Kind::structure || v.items.size() != fields.size())
    mismatch(name, "does not have one value per field");
  boost::json::object out;
  for (size_t i = 0; i < fields.size(); ++i)
    out[fields[i].name] = value_json(types, fields[i].type, v.items[i]);
  return out;
}

boost::json::value value_json(const Types& types, std::string_view type, const Value& v) {
  if (is_array(type)) {
    expect_kind(v, Value::Kind::array, type);
    boost::json::array out;
    for (const Value& item : v.items) out.push_back(value_json(types, element_type(type), item));
    return out;
  }
  if (type == "uint256") {
    expect_kind(v, Value::Kind::uint256, type);
    return boost::json::string(to_decimal(v.word));
  }
  if (type == "bytes32") {
    expect_kind(v, Value::Kind::bytes32, type);
    return boost::json::string(hex_0x(v.word));
  }
  if (type == "address") {
    expect_kind(v, Value::Kind::address, type);
    Address20 a;
    std::copy_n(v.word.begin(), 20, a.begin());
    return boost::json::string(to_checksum_address(a));
  }
  if (type == "string") {
    expect_kind(v, Value::Kind::string, type);
    return boost::json::string(v.text);
  }
  return struct_json(types, type, v);
}

const Types& domain_types() {
  static const Types types = {{"EIP712Domain",
                               {{"name", "string"},
                                {"version", "string"},
                                {"chainId", "uint256"},
                                {"verifyingContract", "address"}}}};
  return types;
}

Value domain_value(const Domain& d) {
  return Value::structure({Value::string(d.name), Value::string(d.version), Value::uint(d.chain_id),
                           Value::address(d.verifying_contract)});
}

boost::json::array fields_json(const std::vector<Field>& fields) {
  boost::json::array out;
  for (const Field& f : fields)
    out.push_back(boost::json::object{{"name", f.name}, {"type", f.type}});
  return out;
}

}  // namespace

Value Value::uint(const Uint256& v) {
  Value out;
  out.kind = Kind::uint256;
  out.word = v;
  return out;
}

Value Value::uint(uint64_t v) {
  return uint(uint256_of(v));
}

Value Value::address(const Address20& a) {
  Value out;
  out.kind = Kind::address;
  std::copy(a.begin(), a.end(), out.word.begin());
  return out;
}

Value Value::bytes32(const Hash32& b) {
  Value out;
  out.kind = Kind::bytes32;
  out.word = b;
  return out;
}

Value Value::string(std::string s) {
  Value out;
  out.kind = Kind::string;
  out.text = std::move(s);
  return out;
}

Value Value::array(std::vector<Value> elements) {
  Value out;
  out.kind = Kind::array;
  out.items = std::move(elements);
  return out;
}

Value Value::strings(const std::vector<std::string>& elements) {
  std::vector<Value> items;
  items.reserve(elements.size());
  for (const std::string& s : elements) items.push_back(string(s));
  return array(std::move(items));
}

Value Value::structure(std::vector<Value> fields) {
  Value out;
  out.kind = Kind::structure;
  out.items = std::move(fields);
  return out;
}

std::string encode_type(const Types& types, std::string_view name) {
  std::set<std::string> deps;  // sorted by name, as the EIP orders the referenced types
  collect_dependencies(types, name, deps);
  deps.erase(std::string(name));
  std::string out = encode_one_type(types, name);
  for (const std::string& dep : deps) out += encode_one_type(types, dep);
  return out;
}

Hash32 type_hash(const Types& types, std::string_view name) {
  return keccak256(std::string_view(encode_type(types, name)));
}

std::vector<uint8_t> encode_data(const Types& types, std::string_view name, const Value& value) {
  const std::vector<Field>& fields = fields_of(types, name);
  if (value.kind != Value::Kind::structure || value.items.size() != fields.size())
    mismatch(name, "does not have one value per field");
  std::vector<uint8_t> out;
  out.reserve(32 * (1 + fields.size()));
  const Hash32 th = type_hash(types, name);
  out.insert(out.end(), th.begin(), th.end());
  for (size_t i = 0; i < fields.size(); ++i) {
    try {
      const Hash32 w = encode_value(types, fields[i].type, value.items[i]);
      out.insert(out.end(), w.begin(), w.end());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(e.what()) + " (field '" + fields[i].name + "' of " +
                                  std::string(name) + ")");
    }
  }
  return out;
}

Hash32 hash_struct(const Types& types, std::string_view name, const Value& value) {
  return keccak256(encode_data(types, name, value));
}

Hash32 domain_separator(const Domain& domain) {
  return hash_struct(domain_types(), "EIP712Domain", domain_value(domain));
}

Hash32 digest(const TypedData& data) {
  const Hash32 ds = domain_separator(data.domain);
  const Hash32 hs = hash_struct(data.types, data.primary_type, data.message);
  Keccak256 h;
  const uint8_t prefix[2] = {0x19, 0x01};
  h.update(prefix);
  h.update(ds);
  h.update(hs);
  return h.finalize();
}

boost::json::object to_json(const TypedData& data) {
  boost::json::object types;
  types["EIP712Domain"] = fields_json(domain_types().at("EIP712Domain"));
  std::set<std::string> reached;
  collect_dependencies(data.types, data.primary_type, reached);
  for (const std::string& name : reached) types[name] = fields_json(data.types.at(name));
  boost::json::object domain{
      {"name", data.domain.name},
      {"version", data.domain.version},
      {"chainId", data.domain.chain_id},
      {"verifyingContract", to_checksum_address(data.domain.verifying_contract)}};
  boost::json::object out;
  out["types"] = std::move(types);
  out["primaryType"] = data.primary_type;
  out["domain"] = std::move(domain);
  out["message"] = struct_json(data.types, data.primary_type, data.message);
  return out;
}

}  // namespace oemlink::crypto::eip712
