#include "core/link/mint_source.hpp"

#include "core/config/config.hpp"
#include "core/link/mint_request.hpp"
#include "core/vault/key_vault.hpp"

namespace oemlink::link {
namespace {

MintInputs inputs_of(const MintFields& f) {
  MintInputs in;
  in.owner = f.owner;
  in.vehicle_token_id = f.vehicle_token_id;
  in.manufacturer_node = f.manufacturer_node;
  in.device_definition_id = f.device_definition_id;
  in.make = f.make;
  in.model = f.model;
  in.year = f.year;
  return in;
}

class BuilderMintSource final : public MintSource {
 public:
  BuilderMintSource(const config::DimoConfig& dimo, vault::KeyVault& vault)
      : builder_(dimo, vault) {}

  MintAnswer prepare(const host::ConnectionView& c, const MintFields& in) override {
    return guarded([&] { return builder_.prepare(c, inputs_of(in)); });
  }
  MintAnswer complete(const host::ConnectionView& c, const MintFields& in,
                      std::string_view owner_signature) override {
    return guarded([&] { return builder_.complete(c, inputs_of(in), owner_signature); });
  }

 private:
  // Bad input is the owner's to fix; a vault that cannot sign (keyd down, child retired) is
  // named as such, so the answer does not blame the owner.
  template <class Fn>
  static MintAnswer guarded(Fn&& fn) {
    try {
      return {true, fn()};
    } catch (const MintError& e) {
      return {false, e.what()};
    } catch (const vault::VaultError& e) {
      return {false, std::string("the key vault could not sign: ") + e.what()};
    }
  }

  MintRequestBuilder builder_;
};

}  // namespace

std::unique_ptr<MintSource> make_mint_source(const config::DimoConfig& dimo,
                                             vault::KeyVault& vault) {
  return std::make_unique<BuilderMintSource>(dimo, vault);
}

}  // namespace oemlink::link
