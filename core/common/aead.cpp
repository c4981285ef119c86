#include "core/common/aead.hpp"

#include "core/common/secure_wipe.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <stdexcept>

namespace oemlink::aead {
namespace {

// EVP_CIPHER_CTX_free also cleanses the expanded key schedule.
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

Ctx new_ctx() {
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("aead: EVP_CIPHER_CTX_new failed");
  return ctx;
}

// EVP lengths are int; secrets are tokens of a few KiB, so anything near INT_MAX is a bug.
bool fits_int(size_t n) {
  return n <= static_cast<size_t>(INT_MAX) - kOverhead;
}

bool add_aad(EVP_CIPHER_CTX* ctx, bool encrypt, const uint8_t* data, size_t n) {
  if (n == 0) return true;
  int len = 0;
  return encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, data, static_cast<int>(n)) == 1
                 : EVP_DecryptUpdate(ctx, nullptr, &len, data, static_cast<int>(n)) == 1;
}

const uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace

std::vector<uint8_t> seal(const DataKey& key, std::string_view plaintext, std::string_view aad) {
  if (!fits_int(plaintext.size()) || !fits_int(aad.size())) {
    throw std::runtime_error("aead: value or associated data too large");
  }
  std::vector<uint8_t> out(kOverhead + plaintext.size());
  out[0] = kVersion;
  uint8_t* nonce = out.data() + 1;
  uint8_t* ct = nonce + kNonceSize;
  uint8_t* tag = ct + plaintext.size();
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) {
    throw std::runtime_error("aead: RAND_bytes failed");
  }

  Ctx ctx = new_ctx();
  int len = 0;
  int final_len = 0;
  bool ok =
      EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), nonce, nullptr) == 1 &&
      add_aad(ctx.get(), true, out.data(), 1) && add_aad(ctx.get(), true, bytes(aad), aad.size()) &&
      (plaintext.empty() || EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                                              static_cast<int>(plaintext.size())) == 1) &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) == 1 &&
      static_cast<size_t>(len + final_len) == plaintext.size() &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) == 1;
  if (!ok) throw std::runtime_error("aead: AES-256-GCM encryption failed");
  return out;
}

namespace {

// Authenticates and decrypts `sealed` (already checked for version and size) into pt, which has
// room for sealed.size() - kOverhead bytes.
bool decrypt_into(const DataKey& key, std::span<const uint8_t> sealed, std::string_view aad,
                  uint8_t* pt) {
  const uint8_t* nonce = sealed.data() + 1;
  const uint8_t* ct = nonce + kNonceSize;
  const size_t ct_len = sealed.size() - kOverhead;
  // The ctrl takes a non-const pointer.
  uint8_t tag[kTagSize];
  std::copy_n(ct + ct_len, kTagSize, tag);
  Ctx ctx = new_ctx();
  int len = 0;
  int final_len = 0;
  return EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), nonce, nullptr) == 1 &&
         add_aad(ctx.get(), false, sealed.data(), 1) &&
         add_aad(ctx.get(), false, bytes(aad), aad.size()) &&
         (ct_len == 0 ||
          EVP_DecryptUpdate(ctx.get(), pt, &len, ct, static_cast<int>(ct_len)) == 1) &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag) ==
             1 &&
         EVP_DecryptFinal_ex(ctx.get(), pt + len, &final_len) == 1 &&
         static_cast<size_t>(len + final_len) == ct_len;
}

bool well_formed(std::span<const uint8_t> sealed, std::string_view aad) {
  return sealed.size() >= kOverhead && sealed[0] == kVersion && fits_int(sealed.size()) &&
         fits_int(aad.size());
}

}  // namespace

bool open(const DataKey& key, std::span<const uint8_t> sealed, std::string_view aad,
          std::string& plaintext) {
  secure_wipe(plaintext);
  plaintext.clear();
  if (!well_formed(sealed, aad)) return false;
  // Decrypt straight into the caller's string so no second plaintext copy is left behind.
  plaintext.resize(sealed.size() - kOverhead);
  const bool ok = decrypt_into(key, sealed, aad, reinterpret_cast<uint8_t*>(plaintext.data()));
  if (!ok) {
    secure_wipe(plaintext);
    plaintext.clear();
  }
  return ok;
}

bool open_exact(const DataKey& key, std::span<const uint8_t> sealed, std::string_view aad,
                std::span<uint8_t> out) {
  secure_wipe(out.data(), out.size());
  if (!well_formed(sealed, aad) || sealed.size() - kOverhead != out.size()) return false;
  const bool ok = decrypt_into(key, sealed, aad, out.data());
  if (!ok) secure_wipe(out.data(), out.size());
  return ok;
}

}  // namespace oemlink::aead
