#include "schnorr_p256.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>

namespace oemlink::tesla {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Ctx = std::unique_ptr<BN_CTX, CtxFree>;
using Group = std::unique_ptr<EC_GROUP, GroupFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;

Group p256() {
  return Group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
}

Bn bn_from(const unsigned char* bytes, size_t n) {
  return Bn(BN_bin2bn(bytes, int(n), nullptr));
}

bool bn_to32(const BIGNUM* b, unsigned char out[32]) {
  return BN_bn2binpad(b, out, 32) == 32;
}

std::string point_bytes(const EC_GROUP* g, const EC_POINT* p, BN_CTX* ctx) {
  unsigned char buf[65];
  size_t n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, buf, sizeof buf, ctx);
  return n == 65 ? std::string(reinterpret_cast<char*>(buf), 65) : std::string();
}

void hmac(const unsigned char key[32], const unsigned char* data, size_t n, unsigned char out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, 32, data, n, out, &len);
}

// RFC 6979 section 3.2 for qlen = hlen = 256 (so bits2int is the identity on 32 bytes).
Bn rfc6979_nonce(const unsigned char x[32], const unsigned char h1[32], const BIGNUM* n) {
  unsigned char v[32], k[32], buf[32 + 1 + 32 + 32];
  std::memset(v, 0x01, 32);
  std::memset(k, 0x00, 32);
  for (unsigned char sep : {0x00, 0x01}) {
    std::memcpy(buf, v, 32);
    buf[32] = sep;
    std::memcpy(buf + 33, x, 32);
    std::memcpy(buf + 65, h1, 32);
    hmac(k, buf, sizeof buf, k);
    hmac(k, v, 32, v);
  }
  for (;;) {
    hmac(k, v, 32, v);
    Bn cand = bn_from(v, 32);
    if (cand && !BN_is_zero(cand.get()) && BN_cmp(cand.get(), n) < 0) {
      OPENSSL_cleanse(k, sizeof k);
      OPENSSL_cleanse(v, sizeof v);  // the nonce itself: with a signature it gives the key
      OPENSSL_cleanse(buf, sizeof buf);
      return cand;
    }
    std::memcpy(buf, v, 32);
    buf[32] = 0x00;
    hmac(k, buf, 33, k);
    hmac(k, v, 32, v);
  }
}

void append_lv(std::string& out, std::string_view bytes) {
  const uint32_t n = uint32_t(bytes.size());
  out += char(n >> 24);
  out += char(n >> 16);
  out += char(n >> 8);
  out += char(n);
  out.append(bytes);
}

// c = SHA-256(LV(G) || LV(V) || LV(A) || LV(msg)) as a big-endian integer.
Bn challenge(const EC_GROUP* g, std::string_view v_point, std::string_view a_point,
             std::string_view message, BN_CTX* ctx) {
  std::string input;
  append_lv(input, point_bytes(g, EC_GROUP_get0_generator(g), ctx));
  append_lv(input, v_point);
  append_lv(input, a_point);
  append_lv(input, message);
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return bn_from(digest, 32);
}

}  // namespace

std::unique_ptr<SchnorrP256Key> SchnorrP256Key::from_scalar(std::string_view scalar32) {
  if (scalar32.size() != 32) return nullptr;
  Group g = p256();
  Ctx ctx(BN_CTX_new());
  if (!g || !ctx) return nullptr;
  Bn x = bn_from(reinterpret_cast<const unsigned char*>(scalar32.data()), 32);
  if (!x || BN_is_zero(x.get()) || BN_cmp(x.get(), EC_GROUP_get0_order(g.get())) >= 0)
    return nullptr;
  Point a(EC_POINT_new(g.get()));
  if (!a || !EC_POINT_mul(g.get(), a.get(), x.get(), nullptr, nullptr, ctx.get())) return nullptr;
  std::unique_ptr<SchnorrP256Key> key(new SchnorrP256Key());
  std::memcpy(key->scalar_, scalar32.data(), 32);
  key->public_point_ = point_bytes(g.get(), a.get(), ctx.get());
  if (key->public_point_.size() != 65) return nullptr;
  return key;
}

std::unique_ptr<SchnorrP256Key> SchnorrP256Key::from_pem(std::string_view pem, std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return nullptr;
  };
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free);
  if (!bio) return fail("out of memory reading the PEM key");
  // Without a callback OpenSSL asks for a passphrase on the terminal: a daemon (or
  // check-config) would wait there for good.
  bool asked = false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(PEM_read_bio_PrivateKey(
                                                               bio.get(), nullptr,
                                                               [](char*, int, int, void* u) {
                                                                 *static_cast<bool*>(u) = true;
                                                                 return -1;
                                                               },
                                                               &asked),
                                                           &EVP_PKEY_free);
  if (!pkey && asked)
    return fail("the PEM key is encrypted: give it unencrypted (a secret setting)");
  if (!pkey) return fail("not a PEM private key");
  char group[64] = {};
  size_t glen = 0;
  if (!EVP_PKEY_is_a(pkey.get(), "EC") ||
      !EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                      &glen) ||
      std::strcmp(group, "prime256v1") != 0) {
    return fail("the key is not an EC key on P-256 (prime256v1)");
  }
  BIGNUM* raw = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw))
    return fail("the PEM key has no private part");
  Bn priv(raw);
  unsigned char x[32];
  if (!bn_to32(priv.get(), x)) return fail("the private scalar does not fit 32 bytes");
  auto key = from_scalar(std::string_view(reinterpret_cast<char*>(x), 32));
  OPENSSL_cleanse(x, sizeof x);
  if (!key) return fail("the private scalar is out of range");
  return key;
}

SchnorrP256Key::~SchnorrP256Key() {
  OPENSSL_cleanse(scalar_, sizeof scalar_);
}

std::string SchnorrP256Key::sign(std::string_view message) const {
  Group g = p256();
  Ctx ctx(BN_CTX_new());
  if (!g || !ctx) return {};
  const BIGNUM* n = EC_GROUP_get0_order(g.get());
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest);
  // h1 = SHA-256(message) mod n, as RFC 6979's bits2octets asks.
  Bn h = bn_from(digest, 32);
  BN_mod(h.get(), h.get(), n, ctx.get());
  unsigned char h1[32];
  bn_to32(h.get(), h1);
  Bn v = rfc6979_nonce(scalar_, h1, n);
  Point vp(EC_POINT_new(g.get()));
  EC_POINT_mul(g.get(), vp.get(), v.get(), nullptr, nullptr, ctx.get());
  const std::string v_point = point_bytes(g.get(), vp.get(), ctx.get());
  Bn c = challenge(g.get(), v_point, public_point_, message, ctx.get());
  Bn x = bn_from(scalar_, 32);
  Bn xc(BN_new()), r(BN_new());
  BN_mod_mul(xc.get(), x.get(), c.get(), n, ctx.get());
  BN_mod_sub(r.get(), v.get(), xc.get(), n, ctx.get());
  unsigned char r32[32];
  if (v_point.size() != 65 || !bn_to32(r.get(), r32)) return {};
  return v_point.substr(1) + std::string(reinterpret_cast<char*>(r32), 32);
}

bool schnorr_p256_verify(std::string_view public_point, std::string_view message,
                         std::string_view signature) {
  if (public_point.size() != 65 || signature.size() != 96) return false;
  Group g = p256();
  Ctx ctx(BN_CTX_new());
  if (!g || !ctx) return false;
  Point a(EC_POINT_new(g.get())), v(EC_POINT_new(g.get()));
  const std::string v_bytes = "\x04" + std::string(signature.substr(0, 64));
  if (!EC_POINT_oct2point(g.get(), a.get(),
                          reinterpret_cast<const unsigned char*>(public_point.data()), 65,
                          ctx.get()) ||
      !EC_POINT_oct2point(g.get(), v.get(), reinterpret_cast<const unsigned char*>(v_bytes.data()),
                          65, ctx.get())) {
    return false;
  }
  Bn r = bn_from(reinterpret_cast<const unsigned char*>(signature.data()) + 64, 32);
  if (BN_cmp(r.get(), EC_GROUP_get0_order(g.get())) >= 0) return false;
  Bn c = challenge(g.get(), v_bytes, public_point, message, ctx.get());
  Point sum(EC_POINT_new(g.get()));
  // sum = r*G + c*A
  if (!EC_POINT_mul(g.get(), sum.get(), r.get(), a.get(), c.get(), ctx.get())) return false;
  return EC_POINT_cmp(g.get(), sum.get(), v.get(), ctx.get()) == 0;
}

}  // namespace oemlink::tesla
