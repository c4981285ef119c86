#include "tests/tools/mock_tesla/test_schnorr_signer.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>
#include <vector>

namespace oemlink::mock_oem::testing {
namespace {

std::string point_bytes(const EC_GROUP* g, const EC_POINT* p, BN_CTX* ctx) {
  std::string out(65, '\0');
  EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED,
                     reinterpret_cast<unsigned char*>(out.data()), out.size(), ctx);
  return out;
}

std::string scalar_bytes(const BIGNUM* b) {
  std::string out(32, '\0');
  BN_bn2binpad(b, reinterpret_cast<unsigned char*>(out.data()), 32);
  return out;
}

std::string lv(const std::string& b) {
  std::string out;
  const uint32_t n = static_cast<uint32_t>(b.size());
  out += char(n >> 24), out += char(n >> 16), out += char(n >> 8), out += char(n);
  return out + b;
}

std::string sha256(const std::string& data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
             EVP_sha256(), nullptr);
  return out;
}

std::string b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string b64url(const std::string& bytes) {
  std::string s = b64(bytes);
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

}  // namespace

TestKey test_key_from_scalar(std::string x) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM* k = BN_bin2bn(reinterpret_cast<const unsigned char*>(x.data()), 32, nullptr);
  EC_POINT* a = EC_POINT_new(g);
  EC_POINT_mul(g, a, k, nullptr, nullptr, ctx);
  TestKey key{x, point_bytes(g, a, ctx)};
  EC_POINT_free(a);
  BN_free(k);
  BN_CTX_free(ctx);
  EC_GROUP_free(g);
  return key;
}

TestKey make_test_key() {
  std::string x(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(x.data()), 32);
  x[0] = static_cast<char>(x[0] & 0x7f);  // below n
  return test_key_from_scalar(x);
}

std::string schnorr_sign(const TestKey& key, std::string_view message) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BN_CTX* ctx = BN_CTX_new();
  const BIGNUM* n = EC_GROUP_get0_order(g);
  BIGNUM* v = BN_new();
  BN_rand_range(v, n);
  EC_POINT* vp = EC_POINT_new(g);
  EC_POINT_mul(g, vp, v, nullptr, nullptr, ctx);
  const std::string vb = point_bytes(g, vp, ctx);
  const std::string gb = point_bytes(g, EC_GROUP_get0_generator(g), ctx);
  const std::string digest =
      sha256(lv(gb) + lv(vb) + lv(key.public_point) + lv(std::string(message)));
  BIGNUM* c = BN_bin2bn(reinterpret_cast<const unsigned char*>(digest.data()), 32, nullptr);
  BIGNUM* x =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(key.private_scalar.data()), 32, nullptr);
  BIGNUM* xc = BN_new();
  BIGNUM* r = BN_new();
  BN_mod_mul(xc, x, c, n, ctx);
  BN_mod_sub(r, v, xc, n, ctx);
  const std::string sig = vb.substr(1) + scalar_bytes(r);
  for (BIGNUM* b : {v, c, x, xc, r}) BN_free(b);
  EC_POINT_free(vp);
  BN_CTX_free(ctx);
  EC_GROUP_free(g);
  return sig;
}

std::string make_telemetry_jws(const TestKey& key, const std::string& config_json,
                               std::string_view alg, std::string_view aud) {
  boost::json::object claims = boost::json::parse(config_json).as_object();
  claims["iss"] = b64(key.public_point);
  claims["aud"] = aud;
  const std::string header =
      boost::json::serialize(boost::json::object{{"alg", alg}, {"typ", "JWT"}});
  const std::string input = b64url(header) + "." + b64url(boost::json::serialize(claims));
  return input + "." + b64url(schnorr_sign(key, input));
}

}  // namespace oemlink::mock_oem::testing
