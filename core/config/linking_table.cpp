#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

const Setting<LinkingConfig> kRows[] = {
    {{.key = "state_ttl",
      .type = SettingType::duration,
      .default_value = "10m",
      .description = "how long an owner has at the maker's consent page: a started link's "
                     "`state` and its browser cookie expire after this",
      // Below a minute an owner reading the consent page would lose the race; above a day a
      // leaked state stays useful to whoever holds it.
      .range = {60'000, 86'400'000, "must be between 1m and 24h", "1m – 24h"}},
     &LinkingConfig::state_ttl},
    {{.key = "max_pending",
      .type = SettingType::integer,
      .default_value = "10000",
      .description = "links started and not yet called back, at most; more starts get 503 "
                     "(each costs memory until it expires)",
      .range = kAtLeastOne},
     &LinkingConfig::max_pending},
    {{.key = "grant_ttl",
      .type = SettingType::duration,
      .default_value = "1h",
      .description = "how long the callback's mint grant may be used to submit the owner's "
                     "signature to `/link/<driver>/mint`",
      .range = {60'000, 7 * 86'400'000.0, "must be between 1m and 7d", "1m – 7d"}},
     &LinkingConfig::grant_ttl},
};

}  // namespace

const SettingBlock<LinkingConfig> kLinkingBlock{
    .path = "linking",
    .intro =
        "Linking cars through their makers' OAuth consent (`/link/<driver>/start`, "
        "`/callback`, `/mint` on `listeners.inbound`).",
    .rows = kRows,
};

}  // namespace oemlink::config
