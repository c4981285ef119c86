// The validated, typed form of oemlink's YAML configuration. Produced by load_config_file() /
// load_config_text() from the settings tables (core/config/*_table.cpp); everything downstream
// reads these structs and never YAML. A driver's `settings` stay a ConfigNode tree until
// driver_settings_to_json() turns them into the JSON its create() receives. No yaml-cpp type
// appears here: only oemlink_config links yaml-cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/dimo_chain.hpp"
#include "core/common/kek_source_config.hpp"
#include "core/config/config_node.hpp"

namespace oemlink::config {

using Duration = std::chrono::milliseconds;

// Where a value came from, for error messages: "file:line:column".
struct Position {
  std::string file;
  int line = 0;    // 1-based, 0 = unknown
  int column = 0;  // 1-based
  bool operator==(const Position&) const = default;
};

enum class LogFormat { text, json };
enum class OnLoadError { fail, skip };
// Where a driver's code runs: in the host's process, or in a child process of its own that the
// host restarts when it crashes or hangs (core/isolation).
enum class DriverIsolation { in_process, process };
// How a driver's connections get data: polled by the host, one stream per connection,
// or one stream for the whole driver instance.
// poll_and_driver_stream: connections are polled as in `poll`, and one driver-wide stream runs as
// in `driver_stream` (a driver that streams what it can and polls the rest, deciding per car).
enum class IngestMode { poll, stream, driver_stream, poll_and_driver_stream };

struct LoggingConfig {
  std::string level = "info";  // trace|debug|info|warn|error
  LogFormat format = LogFormat::text;
  std::string file;  // empty: stderr
  bool operator==(const LoggingConfig&) const = default;
};

struct HttpConfig {
  Duration default_timeout{30'000};
  bool allow_plain_http = false;  // http:// URLs are refused unless set (tests, local mocks)
  std::string ca_file;            // extra CA bundle; empty: system store
  uint32_t max_connections_per_host = 32;
  bool operator==(const HttpConfig&) const = default;
};

struct ScheduleConfig {
  double jitter = 0.1;                // each interval varies by up to ±10%
  Duration max_backoff{3'600'000};    // cap for exponential back-off after failures
  Duration shutdown_timeout{10'000};  // in-flight work gets this long at SIGTERM
  Duration slow_call_warning{1'000};  // driver calls that take longer are logged and counted
  bool operator==(const ScheduleConfig&) const = default;
};

// When the host stops loading a driver that keeps failing it (core/host/driver_quarantine.hpp).
struct QuarantineConfig {
  uint32_t after_crashes = 3;        // crashes of the host inside the driver ...
  Duration crash_window{3'600'000};  // ... within this long quarantine it at the next start
  uint32_t after_hung_polls = 10;    // polls past poll_timeout ...
  Duration hung_window{3'600'000};   // ... within this long quarantine it while running
  bool operator==(const QuarantineConfig&) const = default;
};

struct RateLimitConfig {
  double per_second = 0;  // 0: unlimited
  uint32_t burst = 1;
  bool operator==(const RateLimitConfig&) const = default;
};

struct DriverConfig {
  std::string name;
  std::string library;                 // as written: bare name ("mock") or a path
  std::filesystem::path library_path;  // resolved: absolute when the value was a path
  ConfigNode settings;  // as written; validated against the driver's table once it is loaded
  Duration poll_interval{300'000};
  Duration asleep_interval{900'000};
  Duration poll_timeout{300'000};  // a poll not done by then is counted hung and failed
  uint32_t max_concurrent_requests = 64;
  RateLimitConfig rate_limit;
  OnLoadError on_load_error = OnLoadError::fail;
  DriverIsolation isolation = DriverIsolation::in_process;
  IngestMode mode = IngestMode::poll;
  Position position;
  // For driver_settings_to_json(), which runs after loading: where `${file:...}` in settings
  // resolves, and how errors name this entry ("drivers[2]").
  std::filesystem::path base_dir;
  std::string key_path;
  bool operator==(const DriverConfig&) const = default;
};

struct ConnectionConfig {
  std::string id;
  std::string driver;
  std::string vin;
  std::map<std::string, std::string> identifiers;  // OEM-side ids, e.g. tesla_id
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;                 // BIP-32 hardened child number, < 2^31
  std::optional<Duration> poll_interval;  // overrides the driver's
  Position position;
  bool operator==(const ConnectionConfig&) const = default;
};

struct FileSinkConfig {
  std::filesystem::path path;  // resolved against data_dir when relative
  uint64_t rotate_bytes = 256ull << 20;
  uint32_t keep_files = 8;
  // Deprecated: the YAML key is accepted with a warning and never sets this. It stays until
  // the runtime's flush timer (which reads it, to no effect) is removed.
  Duration flush_interval{1'000};
  bool operator==(const FileSinkConfig&) const = default;
};

// DIMO's ingest node: one CloudEvent per POST over mutual TLS.
struct HttpsSinkConfig {
  std::string url;          // https://…/
  std::string client_cert;  // PEM; its subject CN is the integration's address
  std::string client_key;   // PEM
  std::string ca_file;      // the ingest node's CA; empty: system store
  uint32_t max_in_flight = 64;
  Duration timeout{10'000};
  bool operator==(const HttpsSinkConfig&) const = default;
};

// An MQTT broker (libmosquitto), QoS 1, one topic per vehicle.
struct MqttSinkConfig {
  std::string host = "127.0.0.1";
  uint32_t port = 1883;
  std::string client_id;  // empty: "oemlink-<sink name>"
  std::string username;
  std::string password;  // secret: use ${ENV} or ${file:...}
  // {connection} = connection id, {vehicle_token} = the subject DID's token id.
  std::string topic = "oemlink/{connection}";
  Duration keepalive{30'000};
  std::string ca_file, client_cert, client_key;  // TLS when tls or ca_file is set
  bool tls = false;               // TLS against the system CA store unless ca_file is given
  bool allow_plain_mqtt = false;  // a password without TLS is refused unless this is set
  uint32_t max_in_flight = 256;
  bool uses_tls() const { return tls || !ca_file.empty(); }
  bool operator==(const MqttSinkConfig&) const = default;
};

struct SinkConfig {
  std::string name;
  std::string type;  // file | dimo_https | mqtt
  // Readiness (/readyz): a sink with events waiting that has delivered none for this long is
  // not ready.
  Duration staleness{300'000};
  FileSinkConfig file;
  HttpsSinkConfig https;
  MqttSinkConfig mqtt;
  Position position;
  bool operator==(const SinkConfig&) const = default;
};

// The durable outbox between the pipeline and the sinks.
struct OutboxConfig {
  uint64_t max_bytes = 1ull << 30;
  uint64_t max_records = 10'000'000;
  enum class FullPolicy { block, drop_oldest };
  FullPolicy full_policy = FullPolicy::block;
  // Extra wait for more appends before a commit. 0 still groups whatever arrives during the
  // previous fsync, and keeps a poll's wait for durability short (measured: 2x faster).
  Duration commit_delay{0};
  bool operator==(const OutboxConfig&) const = default;
};

// Chain constants for the CloudEvent envelope; defaults are DIMO's production values
// (Polygon, chain 137), kept in configuration so a testnet or another integration never needs a
// rebuild.
struct DimoConfig {
  uint64_t chain_id = dimo::kChainId;
  std::string vehicle_contract{dimo::kVehicleContract};
  std::string synthetic_device_contract{dimo::kSyntheticDeviceContract};
  std::string source{dimo::kIntegrationSource};
  // Minting (dimo-wire.md §6/6a): the registry that verifies the EIP-712 signatures, this
  // integration's connection (integration node) token id as a decimal uint256 (empty: linking
  // answers without mint data), the struct field's name in the deployed contract's typed data,
  // and manufacturer token ids by make ("Tesla" -> "137") for the new-vehicle path.
  std::string registry_contract{dimo::kRegistryContract};
  std::string connection_id;
  std::string connection_field = "connectionId";  // or "integrationNode" (older contracts)
  std::map<std::string, std::string> manufacturer_nodes;
  Position position;
  bool operator==(const DimoConfig&) const = default;
};

// vault.keyd_uid's default: keyd runs as the host's own uid.
inline constexpr uint32_t kKeydSameUid = UINT32_MAX;

struct VaultSettings {
  std::filesystem::path file;  // sealed seed; default <data_dir>/vault.sealed
  KekSourceConfig kek;         // the seed KEK: only the in-process vault or keyd reads it
  enum class Backend { in_process, keyd };
  Backend backend = Backend::in_process;
  std::filesystem::path keyd_socket;  // default <data_dir>/keyd.sock
  uint32_t keyd_uid = kKeydSameUid;   // the uid keyd must run as (checked with SO_PEERCRED)
  // Development convenience: create a random seed (and a KEK file, for a file source) on first
  // run. Production deployments create or import the seed with `oemlink keys`.
  bool create_if_missing = false;
  Position position;
  bool operator==(const VaultSettings&) const = default;
};

// One inbound HTTP listener (core/net HttpListener): `listeners.inbound` is the host's front door
// for webhooks (and the linking flow).
struct ListenerConfig {
  std::string address = "127.0.0.1";
  uint32_t port = 0;       // required: 1-65535
  std::string public_url;  // required: how senders reach it, http(s)://host[:port][/prefix]
  std::string tls_cert_file, tls_key_file;  // TLS when set (both, files that exist)
  uint64_t max_body = 64 * 1024;
  Duration header_timeout{10'000};
  Duration body_timeout{10'000};
  Duration idle_timeout{60'000};
  uint32_t max_connections = 1024;
  // A webhook's 2xx waits at most this long for its events to be durable; then 503 (retry).
  Duration durable_timeout{10'000};
  Position position;
  bool tls() const { return !tls_cert_file.empty(); }
  bool operator==(const ListenerConfig&) const = default;
};

// The admin API's listener (`listeners.admin`): loopback by default; every request carries
// `Authorization: Bearer <token>` (compared in constant time) or, with TLS and client_ca_file, a
// client certificate that CA signed. At least one of the two is required.
struct AdminListenerConfig {
  std::string address = "127.0.0.1";
  uint32_t port = 0;  // required: 1-65535 (0 only in tests: any free port)
  std::string token;  // secret: use ${ENV} or ${file:...}
  std::string tls_cert_file, tls_key_file, client_ca_file;
  uint32_t max_connections = 64;
  Position position;
  bool tls() const { return !tls_cert_file.empty(); }
  bool operator==(const AdminListenerConfig&) const = default;
};

// The operations listener (`listeners.operations`): GET /metrics (Prometheus text format),
// /healthz and /readyz. Loopback by default, unauthenticated like every Prometheus target: bind
// it where only the scraper and the orchestrator reach it.
struct OperationsListenerConfig {
  std::string address = "127.0.0.1";
  uint32_t port = 0;  // required: 1-65535 (0 only in tests: any free port)
  uint32_t max_connections = 64;
  Position position;
  bool operator==(const OperationsListenerConfig&) const = default;
};

struct ListenersConfig {
  std::optional<ListenerConfig> inbound;  // absent: no inbound listener (no webhooks, no linking)
  std::optional<AdminListenerConfig> admin;            // absent: no admin API
  std::optional<OperationsListenerConfig> operations;  // absent: no /metrics, /healthz, /readyz
  bool operator==(const ListenersConfig&) const = default;
};

// Linking cars through the makers' OAuth consent (GET /link/<driver>/start on listeners.inbound).
struct LinkingConfig {
  Duration state_ttl{600'000};    // a start's state (and its cookie) expires after this
  uint32_t max_pending = 10'000;  // starts not yet called back; more are refused with 503
  Duration grant_ttl{
      3'600'000};  // how long the callback's mint grant may submit an owner signature
  Position position;
  bool operator==(const LinkingConfig&) const = default;
};

// `listeners.<name>.tls`: both keys or neither.
struct ListenerTlsKeys {
  std::string cert_file, key_file;
  bool operator==(const ListenerTlsKeys&) const = default;
};

struct Config {
  std::filesystem::path source;    // the file read ("<embedded>" for the built-in default)
  std::filesystem::path base_dir;  // relative paths resolve against this
  std::filesystem::path data_dir;
  LoggingConfig logging;
  HttpConfig http;
  ScheduleConfig schedule;
  QuarantineConfig quarantine;
  DimoConfig dimo;
  VaultSettings vault;
  // The data KEK that seals the outbox's and the secret store's data keys. Required with
  // `vault.backend: keyd` (the host must not hold the seed KEK); absent: vault.kek (in_process).
  std::optional<KekSourceConfig> data_kek;
  OutboxConfig outbox;
  std::vector<DriverConfig> drivers;
  std::vector<ConnectionConfig> connections;
  std::vector<SinkConfig> sinks;
  ListenersConfig listeners;
  LinkingConfig linking;
  // Accepted but worth fixing (deprecated keys), each "FILE:LINE:COL: key.path: message".
  std::vector<std::string> warnings;
};

// Both throw ConfigError (core/config/config_error.hpp) listing every problem found.
Config load_config_file(const std::filesystem::path& path);
// `source_name` labels positions in errors ("<embedded>" for the built-in default); relative
// paths resolve against `base_dir`.
Config load_config_text(std::string_view yaml, std::string_view source_name,
                        std::filesystem::path base_dir);

}  // namespace oemlink::config
