#include "core/admin/bearer_token.hpp"

#include "core/common/secure_wipe.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace oemlink::admin {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

bool is_bearer_scheme(std::string_view s) {
  static constexpr std::string_view kBearer = "bearer";
  return s.size() == kBearer.size() &&
         std::equal(s.begin(), s.end(), kBearer.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

BearerToken::BearerToken(std::string_view token)
    : digest_(sha256(token)), configured_(!token.empty()) {}

bool BearerToken::accepts(std::string_view authorization) const {
  const size_t space = authorization.find(' ');
  if (!configured_ || space == std::string_view::npos) return false;
  if (!is_bearer_scheme(authorization.substr(0, space))) return false;
  std::string_view presented = authorization.substr(space + 1);
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  if (presented.empty()) return false;
  auto digest = sha256(presented);
  const bool same = CRYPTO_memcmp(digest.data(), digest_.data(), digest.size()) == 0;
  secure_wipe(digest);
  return same;
}

}  // namespace oemlink::admin
