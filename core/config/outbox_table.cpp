#include "core/config/tables.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kFullPolicies[] = {"block", "drop_oldest"};

const Setting<OutboxConfig> kRows[] = {
    {{.key = "max_bytes",
      .type = SettingType::size,
      .default_value = "1GiB",
      .description = "undelivered data kept at most",
      .range = {1 << 20, std::numeric_limits<double>::infinity(), "must be at least 1MiB",
                "≥ 1MiB"}},
     &OutboxConfig::max_bytes},
    {{.key = "max_records",
      .type = SettingType::integer,
      .default_value = "10000000",
      .description = "undelivered events kept at most",
      .range = kAtLeastOne},
     &OutboxConfig::max_records},
    {{.key = "full_policy",
      .type = SettingType::choice,
      .default_value = "block",
      .description = "`block`: producers pause (drivers keep their data, polling slows, memory "
                     "stays flat); `drop_oldest`: evict the oldest, each drop counted and logged",
      .choices = kFullPolicies},
     +[](OutboxConfig& out, size_t choice) {
       out.full_policy =
           choice == 0 ? OutboxConfig::FullPolicy::block : OutboxConfig::FullPolicy::drop_oldest;
     }},
    {{.key = "commit_delay",
      .type = SettingType::duration,
      .default_value = "0ms",
      .description = "extra wait for more events before a group commit",
      // Longer waits only delay every event (and, before flush woke the writer, shutdown).
      .range = {0, 1000, "must be at most 1s", "≤ 1s"}},
     &OutboxConfig::commit_delay},
};

}  // namespace

const SettingBlock<OutboxConfig> kOutboxBlock{
    .path = "outbox",
    .intro =
        "The durable, encrypted queue between the pipeline and the sinks (`outbox.db` in "
        "`data_dir`).",
    .rows = kRows,
};

}  // namespace oemlink::config
