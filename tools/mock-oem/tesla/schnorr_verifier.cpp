#include "tools/mock-oem/tesla/schnorr_verifier.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <array>
#include <memory>
#include <vector>

namespace oemlink::mock_oem::tesla {
namespace {

struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using Group = std::unique_ptr<EC_GROUP, GroupFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Ctx = std::unique_ptr<BN_CTX, CtxFree>;

constexpr size_t kPointSize = 65;
constexpr size_t kScalarSize = 32;

void append_lv(std::vector<unsigned char>& out, const unsigned char* data, size_t size) {
  out.push_back(static_cast<unsigned char>(size >> 24));
  out.push_back(static_cast<unsigned char>(size >> 16));
  out.push_back(static_cast<unsigned char>(size >> 8));
  out.push_back(static_cast<unsigned char>(size));
  out.insert(out.end(), data, data + size);
}

}  // namespace

bool schnorr_p256_verify(std::span<const unsigned char> public_key, std::string_view message,
                         std::span<const unsigned char> signature) {
  if (public_key.size() != kPointSize || public_key[0] != 0x04) return false;
  if (signature.size() != 2 * kScalarSize + kScalarSize) return false;

  Group group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  Ctx ctx(BN_CTX_new());
  if (!group || !ctx) return false;
  const BIGNUM* order = EC_GROUP_get0_order(group.get());

  // A and V must be points on the curve (oct2point checks that); the identity is refused.
  Point a(EC_POINT_new(group.get()));
  Point v(EC_POINT_new(group.get()));
  std::array<unsigned char, kPointSize> v_bytes{};
  v_bytes[0] = 0x04;
  std::copy(signature.begin(), signature.begin() + 2 * kScalarSize, v_bytes.begin() + 1);
  if (!a || !v ||
      EC_POINT_oct2point(group.get(), a.get(), public_key.data(), public_key.size(), ctx.get()) !=
          1 ||
      EC_POINT_oct2point(group.get(), v.get(), v_bytes.data(), v_bytes.size(), ctx.get()) != 1)
    return false;
  if (EC_POINT_is_at_infinity(group.get(), a.get()) ||
      EC_POINT_is_at_infinity(group.get(), v.get()))
    return false;

  Bn r(BN_bin2bn(signature.data() + 2 * kScalarSize, kScalarSize, nullptr));
  if (!r || BN_cmp(r.get(), order) >= 0) return false;

  std::array<unsigned char, kPointSize> g_bytes{};
  if (EC_POINT_point2oct(group.get(), EC_GROUP_get0_generator(group.get()),
                         POINT_CONVERSION_UNCOMPRESSED, g_bytes.data(), g_bytes.size(),
                         ctx.get()) != kPointSize)
    return false;
  std::vector<unsigned char> challenge_input;
  challenge_input.reserve(3 * (4 + kPointSize) + 4 + message.size());
  append_lv(challenge_input, g_bytes.data(), g_bytes.size());
  append_lv(challenge_input, v_bytes.data(), v_bytes.size());
  append_lv(challenge_input, public_key.data(), public_key.size());
  append_lv(challenge_input, reinterpret_cast<const unsigned char*>(message.data()),
            message.size());
  std::array<unsigned char, 32> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(challenge_input.data(), challenge_input.size(), digest.data(), &digest_size,
                 EVP_sha256(), nullptr) != 1 ||
      digest_size != digest.size())
    return false;

  // c is the digest as an integer; A has order n, so c·A == (c mod n)·A.
  Bn c(BN_bin2bn(digest.data(), digest.size(), nullptr));
  if (!c || BN_nnmod(c.get(), c.get(), order, ctx.get()) != 1) return false;

  Point expected(EC_POINT_new(group.get()));
  if (!expected ||
      EC_POINT_mul(group.get(), expected.get(), r.get(), a.get(), c.get(), ctx.get()) != 1)
    return false;
  return EC_POINT_cmp(group.get(), expected.get(), v.get(), ctx.get()) == 0;
}

}  // namespace oemlink::mock_oem::tesla
