// Every block's settings table, one file per part (core/config/*_table.cpp). The loader reads
// with them and schema_reference.cpp prints them. A new block is a new table file, a line here, a
// line in the loader and a line in schema_reference.cpp.
#pragma once

#include <string>

#include "core/config/config.hpp"
#include "core/config/setting_table.hpp"

namespace oemlink::config {

extern const SettingBlock<Config> kTopLevelBlock;
extern const SettingBlock<LoggingConfig> kLoggingBlock;
extern const SettingBlock<HttpConfig> kHttpBlock;
extern const SettingBlock<ScheduleConfig> kScheduleBlock;
extern const SettingBlock<QuarantineConfig> kQuarantineBlock;
extern const SettingBlock<DimoConfig> kDimoBlock;
extern const SettingBlock<VaultSettings> kVaultBlock;

// `vault.kek` names one source; the loader turns the key given into a KekSourceConfig.
struct KekSourceKeys {
  std::string env, file, command;
  bool operator==(const KekSourceKeys&) const = default;
};
extern const SettingBlock<KekSourceKeys> kKekBlock;
// The top-level `data_kek`: the same three keys.
extern const SettingBlock<KekSourceKeys> kDataKekBlock;

extern const SettingBlock<OutboxConfig> kOutboxBlock;
extern const SettingBlock<DriverConfig> kDriverBlock;
extern const SettingBlock<RateLimitConfig> kRateLimitBlock;
extern const SettingBlock<ConnectionConfig> kConnectionBlock;

// A sink entry is the common rows plus those of its type; a key of another type is an error.
extern const SettingBlock<SinkConfig> kSinkBlock;
extern const SettingBlock<FileSinkConfig> kFileSinkBlock;
extern const SettingBlock<HttpsSinkConfig> kHttpsSinkBlock;
extern const SettingBlock<MqttSinkConfig> kMqttSinkBlock;

// `listeners`: one named listener per key; each is read against kListenerBlock.
extern const SettingBlock<ListenersConfig> kListenersBlock;
extern const SettingBlock<ListenerConfig> kListenerBlock;
extern const SettingBlock<ListenerTlsKeys> kListenerTlsBlock;

extern const SettingBlock<LinkingConfig> kLinkingBlock;
// `listeners.admin` and its `tls` (which adds client_ca_file).
struct AdminTlsKeys {
  std::string cert_file, key_file, client_ca_file;
  bool operator==(const AdminTlsKeys&) const = default;
};
extern const SettingBlock<AdminListenerConfig> kAdminListenerBlock;
// `listeners.operations`: /metrics, /healthz, /readyz.
extern const SettingBlock<OperationsListenerConfig> kOperationsListenerBlock;
extern const SettingBlock<AdminTlsKeys> kAdminTlsBlock;

}  // namespace oemlink::config
