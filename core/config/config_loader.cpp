// The schema: which keys exist where, their defaults (in config.hpp), and the checks that span
// entries (unique names, references between sections).
#include <algorithm>
#include <cstring>
#include <map>

#include "core/common/data_dir.hpp"
#include "core/config/config.hpp"
#include "core/config/config_error.hpp"
#include "core/config/file_text.hpp"
#include "core/config/key_suggestion.hpp"
#include "core/config/yaml_reader.hpp"

namespace oemlink::config {
namespace {

namespace fs = std::filesystem;
using std::string_view_literals::operator""sv;

constexpr std::string_view kTopKeys[] = {"data_dir", "logging", "http",    "schedule",    "dimo",
                                         "vault",    "outbox",  "drivers", "connections", "sinks"};
constexpr std::string_view kDimoKeys[] = {"chain_id", "vehicle_contract",
                                          "synthetic_device_contract", "source"};
constexpr std::string_view kVaultKeys[] = {"file", "kek", "backend", "keyd_socket",
                                           "create_if_missing"};
constexpr std::string_view kKekKeys[] = {"env", "file", "command"};
constexpr std::string_view kLoggingKeys[] = {"level", "format", "file"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kHttpKeys[] = {"default_timeout", "allow_plain_http", "ca_file",
                                          "max_connections_per_host"};
constexpr std::string_view kScheduleKeys[] = {"jitter", "max_backoff", "shutdown_timeout",
                                              "slow_call_warning"};
constexpr std::string_view kDriverKeys[] = {
    "name",          "library",         "on_load_error",           "mode",
    "poll_interval", "asleep_interval", "max_concurrent_requests", "rate_limit",
    "settings",      "poll_timeout"};
constexpr std::string_view kRateLimitKeys[] = {"per_second", "burst"};
constexpr std::string_view kConnectionKeys[] = {
    "id",        "driver",       "vin", "identifiers", "vehicle_token_id", "synthetic_token_id",
    "key_child", "poll_interval"};
constexpr std::string_view kSinkKeys[] = {
    "name",           "type",     "path",        "rotate_bytes", "keep_files",
    "flush_interval", "url",      "client_cert", "client_key",   "ca_file",
    "max_in_flight",  "timeout",  "host",        "port",         "client_id",
    "username",       "password", "topic",       "keepalive"};
constexpr std::string_view kSinkTypes[] = {"file", "dimo_https", "mqtt"};
// Which of kSinkKeys each type takes (besides name and type).
constexpr std::string_view kFileSinkKeys[] = {"path", "rotate_bytes", "keep_files",
                                              "flush_interval"};
constexpr std::string_view kHttpsSinkKeys[] = {"url",     "client_cert",   "client_key",
                                               "ca_file", "max_in_flight", "timeout"};
constexpr std::string_view kMqttSinkKeys[] = {
    "host",      "port",    "client_id",   "username",   "password",     "topic",
    "keepalive", "ca_file", "client_cert", "client_key", "max_in_flight"};
constexpr std::string_view kOutboxKeys[] = {"max_bytes", "max_records", "full_policy",
                                            "commit_delay"};

constexpr double kMaxJitter = 0.5;
constexpr uint32_t kHardenedChildLimit = 1u << 31;

bool all_of_chars(std::string_view text, bool (*allowed)(char)) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool is_lower_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_connection_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// ISO 3779: digits and capitals without I, O and Q, which read as 1 and 0.
bool is_vin_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q');
}

fs::path resolve(const fs::path& base, const fs::path& path) {
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

// `value` is the expanded text of `key`; the message quotes it as written.
void check_name(YamlReader& reader, const Fields& fields, std::string_view key,
                const std::string& value, bool (*allowed)(char), std::string_view pattern) {
  if (const Field* field = fields.find(key); field && !all_of_chars(value, allowed)) {
    reader.invalid(*field, "must match " + std::string(pattern));
  }
}

void read_positive(YamlReader& reader, const Fields& fields, std::string_view key, Duration& out) {
  Duration value{};
  if (!reader.read(fields, key, value)) return;
  if (value <= Duration::zero()) {
    reader.invalid(*fields.find(key), "must be greater than zero");
    return;
  }
  out = value;
}

template <class T>
void read_at_least_one(YamlReader& reader, const Fields& fields, std::string_view key, T& out) {
  T value{};
  if (!reader.read(fields, key, value)) return;
  if (value < 1) {
    reader.invalid(*fields.find(key), "must be at least 1");
    return;
  }
  out = value;
}

// Remembers where each name was first used, to report later duplicates with both places.
class UniqueNames {
 public:
  UniqueNames(YamlReader& reader, std::string what) : reader_(reader), what_(std::move(what)) {}

  void add(const Fields& fields, std::string_view key, const std::string& name) {
    const Field* field = fields.find(key);
    if (!field || name.empty()) return;
    auto [first, inserted] = seen_.emplace(name, reader_.diagnostics().position(field->mark));
    if (!inserted) {
      reader_.error(*field, "duplicate " + what_ + " \"" + name + "\" (first at line " +
                                std::to_string(first->second.line) + ")");
    }
  }

 private:
  YamlReader& reader_;
  std::string what_;
  std::map<std::string, Position> seen_;
};

class ConfigReader {
 public:
  ConfigReader(std::string source, fs::path base_dir)
      : diagnostics_(std::move(source)), reader_(diagnostics_, std::move(base_dir)) {}

  Config read(const YAML::Node& root) {
    Config config;
    config.source = diagnostics_.source();
    config.base_dir = reader_.base_dir();
    config.data_dir = resolve(config.base_dir, "./var/oemlink");

    Fields top = reader_.mapping(Field{"", root, root.Mark()}, kTopKeys);
    std::string data_dir;
    if (reader_.read(top, "data_dir", data_dir)) {
      if (data_dir.empty()) {
        reader_.invalid(*top.find("data_dir"), "must not be empty");
      } else {
        config.data_dir = resolve(config.base_dir, data_dir);
      }
    }
    if (const Field* logging = top.find("logging")) {
      read_logging(*logging, config.data_dir, config.logging);
    }
    if (const Field* http = top.find("http")) read_http(*http, config.http);
    if (const Field* schedule = top.find("schedule")) read_schedule(*schedule, config.schedule);
    if (const Field* dimo = top.find("dimo")) read_dimo(*dimo, config.dimo);
    config.vault.file = DataDir(config.data_dir).vault_sealed();
    config.vault.keyd_socket = DataDir(config.data_dir).keyd_socket();
    if (const Field* vault = top.find("vault")) read_vault(*vault, config.data_dir, config.vault);
    if (const Field* outbox = top.find("outbox")) read_outbox(*outbox, config.outbox);

    UniqueNames driver_names(reader_, "driver name");
    if (const Field* drivers = top.find("drivers")) {
      for (const Field& entry : reader_.sequence(*drivers)) {
        Fields fields = reader_.mapping(entry, kDriverKeys);
        config.drivers.push_back(read_driver(entry, fields));
        driver_names.add(fields, "name", config.drivers.back().name);
      }
    }

    UniqueNames connection_ids(reader_, "connection id");
    if (const Field* connections = top.find("connections")) {
      for (const Field& entry : reader_.sequence(*connections)) {
        Fields fields = reader_.mapping(entry, kConnectionKeys);
        ConnectionConfig connection = read_connection(entry, fields);
        connection_ids.add(fields, "id", connection.id);
        check_driver_reference(fields, connection.driver, config.drivers);
        config.connections.push_back(std::move(connection));
      }
    }

    UniqueNames sink_names(reader_, "sink name");
    if (const Field* sinks = top.find("sinks")) {
      for (const Field& entry : reader_.sequence(*sinks)) {
        Fields fields = reader_.mapping(entry, kSinkKeys);
        config.sinks.push_back(read_sink(entry, fields, config.data_dir));
        sink_names.add(fields, "name", config.sinks.back().name);
      }
    }

    diagnostics_.throw_if_any();
    return config;
  }

  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  void read_logging(const Field& field, const fs::path& data_dir, LoggingConfig& out) {
    Fields fields = reader_.mapping(field, kLoggingKeys);
    if (std::optional<size_t> level = reader_.read_choice(fields, "level", kLogLevels)) {
      out.level = std::string(kLogLevels[*level]);
    }
    reader_.read_enum(fields, "format", out.format,
                      {{"text"sv, LogFormat::text}, {"json"sv, LogFormat::json}});
    // The log is an output, like sink files: it belongs with the data.
    if (reader_.read(fields, "file", out.file) && !out.file.empty()) {
      out.file = resolve(data_dir, out.file).string();
    }
  }

  void read_http(const Field& field, HttpConfig& out) {
    Fields fields = reader_.mapping(field, kHttpKeys);
    read_positive(reader_, fields, "default_timeout", out.default_timeout);
    reader_.read(fields, "allow_plain_http", out.allow_plain_http);
    // An input shipped next to the config, like ${file:...} secrets.
    if (reader_.read(fields, "ca_file", out.ca_file) && !out.ca_file.empty()) {
      out.ca_file = resolve(reader_.base_dir(), out.ca_file).string();
    }
    read_at_least_one(reader_, fields, "max_connections_per_host", out.max_connections_per_host);
  }

  void read_schedule(const Field& field, ScheduleConfig& out) {
    Fields fields = reader_.mapping(field, kScheduleKeys);
    double jitter = 0;
    if (reader_.read(fields, "jitter", jitter)) {
      if (jitter < 0 || jitter > kMaxJitter) {
        reader_.invalid(*fields.find("jitter"), "must be between 0 and 0.5");
      } else {
        out.jitter = jitter;
      }
    }
    read_positive(reader_, fields, "max_backoff", out.max_backoff);
    reader_.read(fields, "shutdown_timeout", out.shutdown_timeout);
    read_positive(reader_, fields, "slow_call_warning", out.slow_call_warning);
  }

  void read_dimo(const Field& field, DimoConfig& out) {
    Fields fields = reader_.mapping(field, kDimoKeys);
    out.position = diagnostics_.position(field.mark);
    reader_.read(fields, "chain_id", out.chain_id);
    for (auto [key, target] :
         {std::pair{"vehicle_contract", &out.vehicle_contract},
          std::pair{"synthetic_device_contract", &out.synthetic_device_contract},
          std::pair{"source", &out.source}}) {
      std::string value;
      if (!reader_.read(fields, key, value)) continue;
      if (!is_address(value)) {
        reader_.invalid(*fields.find(key), "expected an Ethereum address (0x + 40 hex digits)");
      } else {
        *target = value;
      }
    }
  }

  static bool is_address(std::string_view v) {
    if (v.size() != 42 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X')) return false;
    for (char c : v.substr(2))
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
  }

  void read_vault(const Field& field, const fs::path& data_dir, VaultSettings& out) {
    Fields fields = reader_.mapping(field, kVaultKeys);
    out.position = diagnostics_.position(field.mark);
    std::string path;
    // Vault and socket are state, like sink files: they live with the data.
    if (reader_.read(fields, "file", path) && !path.empty()) out.file = resolve(data_dir, path);
    if (reader_.read(fields, "keyd_socket", path) && !path.empty())
      out.keyd_socket = resolve(data_dir, path);
    reader_.read_enum(fields, "backend", out.backend,
                      {{"in_process"sv, VaultSettings::Backend::in_process},
                       {"keyd"sv, VaultSettings::Backend::keyd}});
    reader_.read(fields, "create_if_missing", out.create_if_missing);
    if (const Field* kek = fields.find("kek")) {
      Fields k = reader_.mapping(*kek, kKekKeys);
      int given = 0;
      std::string value;
      if (reader_.read(k, "env", value)) {
        out.kek = {KekSourceConfig::Kind::env, value};
        ++given;
      }
      if (reader_.read(k, "file", value)) {
        // A key file is an input kept next to the config, like ${file:...} secrets.
        out.kek = {KekSourceConfig::Kind::file, resolve(reader_.base_dir(), value).string()};
        ++given;
      }
      if (reader_.read(k, "command", value)) {
        out.kek = {KekSourceConfig::Kind::command, value};
        ++given;
      }
      if (given != 1) reader_.error(*kek, "give exactly one of env, file or command");
    }
  }

  DriverConfig read_driver(const Field& entry, const Fields& fields) {
    DriverConfig driver;
    driver.position = diagnostics_.position(entry.mark);
    driver.base_dir = reader_.base_dir();
    driver.key_path = entry.path;
    if (!entry.value.IsMap()) return driver;  // already reported
    reader_.require(fields, "name");
    reader_.require(fields, "library");
    if (reader_.read(fields, "name", driver.name)) {
      check_name(reader_, fields, "name", driver.name, is_lower_name_char, "[a-z0-9_-]+");
    }
    if (reader_.read(fields, "library", driver.library)) {
      if (driver.library.empty()) {
        reader_.invalid(*fields.find("library"), "must not be empty");
      } else if (driver.library.find('/') != std::string::npos) {
        driver.library_path = resolve(reader_.base_dir(), driver.library);
      }
      // A bare name stays unresolved: the loader searches its plugin directories for it.
    }
    reader_.read_enum(fields, "on_load_error", driver.on_load_error,
                      {{"fail"sv, OnLoadError::fail}, {"skip"sv, OnLoadError::skip}});
    reader_.read_enum(fields, "mode", driver.mode,
                      {{"poll"sv, IngestMode::poll},
                       {"stream"sv, IngestMode::stream},
                       {"driver_stream"sv, IngestMode::driver_stream}});
    read_positive(reader_, fields, "poll_interval", driver.poll_interval);
    read_positive(reader_, fields, "asleep_interval", driver.asleep_interval);
    read_positive(reader_, fields, "poll_timeout", driver.poll_timeout);
    read_at_least_one(reader_, fields, "max_concurrent_requests", driver.max_concurrent_requests);
    if (const Field* rate_limit = fields.find("rate_limit")) {
      Fields limit = reader_.mapping(*rate_limit, kRateLimitKeys);
      double per_second = 0;
      if (reader_.read(limit, "per_second", per_second)) {
        if (per_second < 0) {
          reader_.invalid(*limit.find("per_second"), "must not be negative");
        } else if (per_second > 0 && per_second < 0.001) {
          // Below one request per ~17 minutes a poll interval says it better; such rates are
          // almost always a unit mistake.
          reader_.invalid(*limit.find("per_second"), "must be 0 (unlimited) or at least 0.001");
        } else {
          driver.rate_limit.per_second = per_second;
        }
      }
      read_at_least_one(reader_, limit, "burst", driver.rate_limit.burst);
    }
    if (const Field* settings = fields.find("settings")) {
      // Keys and types are checked by driver_settings_to_json() once the driver's table is
      // known; the shape and the placeholders can be checked now, with everything else.
      if (!settings->value.IsNull() && !settings->value.IsMap()) {
        reader_.invalid(*settings, "expected a mapping");
      } else {
        reader_.check_placeholders(*settings);
        driver.settings = settings->value;
      }
    }
    return driver;
  }

  ConnectionConfig read_connection(const Field& entry, const Fields& fields) {
    ConnectionConfig connection;
    connection.position = diagnostics_.position(entry.mark);
    if (!entry.value.IsMap()) return connection;
    reader_.require(fields, "id");
    reader_.require(fields, "driver");
    reader_.require(fields, "key_child");
    if (reader_.read(fields, "id", connection.id)) {
      check_name(reader_, fields, "id", connection.id, is_connection_id_char, "[A-Za-z0-9_.:-]+");
    }
    reader_.read(fields, "driver", connection.driver);
    if (reader_.read(fields, "vin", connection.vin) && !connection.vin.empty() &&
        (connection.vin.size() != 17 || !all_of_chars(connection.vin, is_vin_char))) {
      reader_.invalid(*fields.find("vin"),
                      "a VIN is 17 characters of 0-9 and A-Z without I, O and Q");
    }
    if (const Field* identifiers = fields.find("identifiers")) {
      Fields entries = reader_.free_mapping(*identifiers);
      for (const auto& [name, value] : entries.entries()) {
        if (std::optional<std::string> text = reader_.text(value)) {
          connection.identifiers[name] = std::move(*text);
        }
      }
    }
    reader_.read(fields, "vehicle_token_id", connection.vehicle_token_id);
    reader_.read(fields, "synthetic_token_id", connection.synthetic_token_id);
    uint32_t key_child = 0;
    if (reader_.read(fields, "key_child", key_child)) {
      const Field& field = *fields.find("key_child");
      if (key_child >= kHardenedChildLimit) {
        reader_.invalid(field,
                        "must be below 2^31 (2147483648): it becomes a hardened BIP-32 child");
      } else if (auto [owner, inserted] = key_child_owners_.emplace(key_child, connection.id);
                 !inserted) {
        // One key for two cars would make their events indistinguishable to DIMO.
        reader_.error(field, "key_child " + std::to_string(key_child) +
                                 " is already used by connection \"" + owner->second + "\"");
      } else {
        connection.key_child = key_child;
      }
    }
    Duration poll_interval{};
    read_positive(reader_, fields, "poll_interval", poll_interval);
    if (poll_interval > Duration::zero()) connection.poll_interval = poll_interval;
    return connection;
  }

  void check_driver_reference(const Fields& fields, const std::string& driver_name,
                              const std::vector<DriverConfig>& drivers) {
    const Field* field = fields.find("driver");
    if (!field || driver_name.empty()) return;
    std::vector<std::string_view> configured;
    for (const DriverConfig& driver : drivers) {
      if (driver.name == driver_name) return;
      if (!driver.name.empty()) configured.push_back(driver.name);
    }
    reader_.error(*field, unknown_name_message("driver", driver_name, configured) +
                              " (configure it under drivers:)");
  }

  // Certificates, keys and CA bundles ship next to the config, like ${file:...} secrets.
  void read_input_path(const Fields& fields, std::string_view key, std::string& out) {
    if (reader_.read(fields, key, out) && !out.empty())
      out = resolve(reader_.base_dir(), out).string();
  }

  void read_https_sink(const Fields& fields, HttpsSinkConfig& out) {
    reader_.require(fields, "url");
    if (reader_.read(fields, "url", out.url) && out.url.rfind("https://", 0) != 0 &&
        out.url.rfind("http://", 0) != 0)
      reader_.invalid(*fields.find("url"), "expected an https:// URL");
    read_input_path(fields, "client_cert", out.client_cert);
    read_input_path(fields, "client_key", out.client_key);
    read_input_path(fields, "ca_file", out.ca_file);
    if (out.client_cert.empty() != out.client_key.empty())
      reader_.error(*fields.find(out.client_cert.empty() ? "client_key" : "client_cert"),
                    "client_cert and client_key go together (mutual TLS)");
    read_at_least_one(reader_, fields, "max_in_flight", out.max_in_flight);
    read_positive(reader_, fields, "timeout", out.timeout);
  }

  void read_mqtt_sink(const Fields& fields, MqttSinkConfig& out, const std::string& name) {
    reader_.read(fields, "host", out.host);
    if (reader_.read(fields, "port", out.port) && (out.port == 0 || out.port > 65535))
      reader_.invalid(*fields.find("port"), "must be a TCP port (1-65535)");
    reader_.read(fields, "client_id", out.client_id);
    if (out.client_id.empty()) out.client_id = "oemlink-" + name;
    reader_.read(fields, "username", out.username);
    if (const Field* pw = fields.find("password")) {
      if (auto text = reader_.text(*pw, /*secret=*/true)) out.password = *text;
    }
    if (reader_.read(fields, "topic", out.topic) &&
        (out.topic.empty() || out.topic.find_first_of("+#") != std::string::npos))
      reader_.invalid(*fields.find("topic"), "must be a non-empty topic without + or #");
    read_positive(reader_, fields, "keepalive", out.keepalive);
    read_input_path(fields, "ca_file", out.ca_file);
    read_input_path(fields, "client_cert", out.client_cert);
    read_input_path(fields, "client_key", out.client_key);
    read_at_least_one(reader_, fields, "max_in_flight", out.max_in_flight);
  }

  void read_outbox(const Field& field, OutboxConfig& out) {
    Fields fields = reader_.mapping(field, kOutboxKeys);
    uint64_t bytes = 0;
    if (reader_.read_size(fields, "max_bytes", bytes)) {
      if (bytes < (1u << 20))
        reader_.invalid(*fields.find("max_bytes"), "must be at least 1MiB");
      else
        out.max_bytes = bytes;
    }
    read_at_least_one(reader_, fields, "max_records", out.max_records);
    reader_.read_enum(fields, "full_policy", out.full_policy,
                      {{"block"sv, OutboxConfig::FullPolicy::block},
                       {"drop_oldest"sv, OutboxConfig::FullPolicy::drop_oldest}});
    reader_.read(fields, "commit_delay", out.commit_delay);
  }

  SinkConfig read_sink(const Field& entry, const Fields& fields, const fs::path& data_dir) {
    SinkConfig sink;
    sink.position = diagnostics_.position(entry.mark);
    if (!entry.value.IsMap()) return sink;
    reader_.require(fields, "name");
    reader_.require(fields, "type");
    if (reader_.read(fields, "name", sink.name)) {
      check_name(reader_, fields, "name", sink.name, is_lower_name_char, "[a-z0-9_-]+");
    }
    if (std::optional<size_t> type = reader_.read_choice(fields, "type", kSinkTypes)) {
      sink.type = std::string(kSinkTypes[*type]);
    }
    if (sink.type.empty()) return sink;  // already reported
    std::span<const std::string_view> allowed = kMqttSinkKeys;
    if (sink.type == "file") allowed = kFileSinkKeys;
    if (sink.type == "dimo_https") allowed = kHttpsSinkKeys;
    for (const auto& [key, field] : fields.entries()) {
      if (key == "name" || key == "type") continue;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        reader_.error(field, "does not apply to a " + sink.type + " sink");
    }
    if (sink.type == "dimo_https") {
      read_https_sink(fields, sink.https);
      return sink;
    }
    if (sink.type == "mqtt") {
      read_mqtt_sink(fields, sink.mqtt, sink.name);
      return sink;
    }
    reader_.require(fields, "path");
    std::string path;
    if (reader_.read(fields, "path", path)) {
      if (path.empty()) {
        reader_.invalid(*fields.find("path"), "must not be empty");
      } else {
        sink.file.path = resolve(data_dir, path);
      }
    }
    uint64_t rotate_bytes = 0;
    if (reader_.read_size(fields, "rotate_bytes", rotate_bytes)) {
      if (rotate_bytes == 0) {
        reader_.invalid(*fields.find("rotate_bytes"), "must be greater than zero");
      } else {
        sink.file.rotate_bytes = rotate_bytes;
      }
    }
    read_at_least_one(reader_, fields, "keep_files", sink.file.keep_files);
    read_positive(reader_, fields, "flush_interval", sink.file.flush_interval);
    return sink;
  }

  Diagnostics diagnostics_;
  YamlReader reader_;
  std::map<uint32_t, std::string> key_child_owners_;  // key_child -> connection id
};

}  // namespace

Config load_config_text(std::string_view yaml, std::string_view source_name,
                        std::filesystem::path base_dir) {
  ConfigReader config_reader(std::string(source_name), fs::absolute(base_dir).lexically_normal());
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& error) {
    config_reader.diagnostics().add(error.mark, "", "YAML syntax error: " + error.msg);
    config_reader.diagnostics().throw_if_any();
  }
  return config_reader.read(root);
}

Config load_config_file(const std::filesystem::path& path) {
  int error = 0;
  std::optional<std::string> text = read_text_file(path, error);
  if (!text) {
    throw ConfigError(
        {Diagnostic{Position{path.string(), 0, 0}, "",
                    "cannot read the configuration file: " + std::string(std::strerror(error))}});
  }
  fs::path base_dir = path.parent_path();
  return load_config_text(*text, path.string(), base_dir.empty() ? fs::path(".") : base_dir);
}

}  // namespace oemlink::config
