// Verifier for Tesla's `Tesla.SS256` signatures (Schnorr over P-256), written from the Verify
// description in shared/spec/oem-apis.md alone, so that it cannot share a bug with the
// driver's signer. It never signs.
#pragma once

#include <span>
#include <string_view>

namespace oemlink::mock_oem::tesla {

// public_key: uncompressed P-256 point (65 bytes, 0x04 || X || Y).
// signature: Vx || Vy || r (96 bytes).
// True when V == c·A + r·G with c = SHA-256(LV(G) || LV(V) || LV(A) || LV(message)).
bool schnorr_p256_verify(std::span<const unsigned char> public_key, std::string_view message,
                         std::span<const unsigned char> signature);

}  // namespace oemlink::mock_oem::tesla
