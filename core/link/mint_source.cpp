#include "core/link/mint_source.hpp"

#include "core/config/config.hpp"

// The builder is written beside the linking flow (core/link/mint_request.*); until both are
// merged this file builds without it and every mint is refused with a clear message.
#if __has_include("core/link/mint_request.hpp")
#include "core/link/mint_request.hpp"
#define OEMLINK_LINK_HAS_MINT_BUILDER 1
#endif

namespace oemlink::link {
namespace {

#ifdef OEMLINK_LINK_HAS_MINT_BUILDER

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
    try {
      return {true, builder_.prepare(c, inputs_of(in))};
    } catch (const MintError& e) {
      return {false, e.what()};
    }
  }
  MintAnswer complete(const host::ConnectionView& c, const MintFields& in,
                      std::string_view owner_signature) override {
    try {
      return {true, builder_.complete(c, inputs_of(in), owner_signature)};
    } catch (const MintError& e) {
      return {false, e.what()};
    }
  }

 private:
  MintRequestBuilder builder_;
};

#else

class UnbuiltMintSource final : public MintSource {
 public:
  MintAnswer prepare(const host::ConnectionView&, const MintFields&) override { return refuse(); }
  MintAnswer complete(const host::ConnectionView&, const MintFields&, std::string_view) override {
    return refuse();
  }

 private:
  static MintAnswer refuse() {
    return {false, "this oemlink was built without the EIP-712 mint request builder"};
  }
};

#endif

}  // namespace

std::unique_ptr<MintSource> make_mint_source(const config::DimoConfig& dimo,
                                             vault::KeyVault& vault) {
#ifdef OEMLINK_LINK_HAS_MINT_BUILDER
  return std::make_unique<BuilderMintSource>(dimo, vault);
#else
  (void)dimo;
  (void)vault;
  return std::make_unique<UnbuiltMintSource>();
#endif
}

}  // namespace oemlink::link
