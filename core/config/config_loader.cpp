// The document's shape: each block read against its table (tables.hpp), then the rules that
// span keys or blocks (unique names, references between sections, keys that go together).
#include <algorithm>
#include <cstring>
#include <map>

#include "core/common/data_dir.hpp"
#include "core/config/config.hpp"
#include "core/config/config_error.hpp"
#include "core/config/file_text.hpp"
#include "core/config/key_suggestion.hpp"
#include "core/config/table_reader.hpp"
#include "core/config/tables.hpp"
#include "core/config/yaml_document.hpp"
#include "core/config/yaml_reader.hpp"

namespace oemlink::config {
namespace {

namespace fs = std::filesystem;

// Whether two listeners would bind the same port: the same address, or either on every
// interface.
bool same_socket(const std::string& a, uint32_t a_port, const std::string& b, uint32_t b_port) {
  auto wildcard = [](const std::string& x) { return x == "0.0.0.0" || x == "::"; };
  return a_port == b_port && (a == b || wildcard(a) || wildcard(b));
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

// The keys of every sink type, in table order without repeats: what a sink entry may hold.
std::vector<std::string_view> all_sink_keys() {
  std::vector<std::string_view> keys = table_keys(kSinkBlock.rows);
  auto add = [&keys](std::vector<std::string_view> more) {
    for (std::string_view key : more) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  };
  add(table_keys(kFileSinkBlock.rows));
  add(table_keys(kHttpsSinkBlock.rows));
  add(table_keys(kMqttSinkBlock.rows));
  return keys;
}

class ConfigReader {
 public:
  ConfigReader(std::string source, fs::path base_dir)
      : diagnostics_(std::move(source)), reader_(diagnostics_, std::move(base_dir)) {}

  Config read(const ConfigNode& root) {
    Config config;
    config.source = diagnostics_.source();
    config.base_dir = reader_.base_dir();
    config.data_dir = resolve_path(config.base_dir, DataDir::kDefaultRoot);
    bases_.config_dir = config.base_dir;

    Fields top = read_block(reader_, Field{"", &root, root.mark}, kTopLevelBlock, config, bases_);
    bases_.data_dir = config.data_dir;
    if (const Field* logging = top.find("logging"))
      read_block(reader_, *logging, kLoggingBlock, config.logging, bases_);
    if (const Field* http = top.find("http"))
      read_block(reader_, *http, kHttpBlock, config.http, bases_);
    if (const Field* schedule = top.find("schedule"))
      read_block(reader_, *schedule, kScheduleBlock, config.schedule, bases_);
    if (const Field* quarantine = top.find("quarantine"))
      read_block(reader_, *quarantine, kQuarantineBlock, config.quarantine, bases_);
    if (const Field* dimo = top.find("dimo")) {
      config.dimo.position = diagnostics_.position(dimo->mark);
      read_block(reader_, *dimo, kDimoBlock, config.dimo, bases_);
    }
    config.vault.file = DataDir(config.data_dir).vault_sealed();
    config.vault.keyd_socket = DataDir(config.data_dir).keyd_socket();
    const Field* vault = top.find("vault");
    std::optional<Fields> vault_fields;
    if (vault) vault_fields = read_vault(*vault, config.vault);
    const Field* data_kek = top.find("data_kek");
    if (data_kek) config.data_kek = read_kek_source(*data_kek, kDataKekBlock);
    check_data_kek(config, vault, vault_fields ? &*vault_fields : nullptr, data_kek);
    if (const Field* outbox = top.find("outbox"))
      read_block(reader_, *outbox, kOutboxBlock, config.outbox, bases_);

    UniqueNames driver_names(reader_, "driver name");
    if (const Field* drivers = top.find("drivers")) {
      for (const Field& entry : reader_.sequence(*drivers)) {
        Fields fields = reader_.mapping(entry, table_keys(kDriverBlock.rows));
        config.drivers.push_back(read_driver(entry, fields));
        driver_names.add(fields, "name", config.drivers.back().name);
      }
    }

    UniqueNames connection_ids(reader_, "connection id");
    if (const Field* connections = top.find("connections")) {
      for (const Field& entry : reader_.sequence(*connections)) {
        Fields fields = reader_.mapping(entry, table_keys(kConnectionBlock.rows));
        ConnectionConfig connection = read_connection(entry, fields);
        connection_ids.add(fields, "id", connection.id);
        check_driver_reference(fields, connection.driver, config.drivers);
        config.connections.push_back(std::move(connection));
      }
    }

    UniqueNames sink_names(reader_, "sink name");
    std::vector<std::pair<std::filesystem::path, Field>> outputs;  // files the daemon writes
    if (const Field* sinks = top.find("sinks")) {
      for (const Field& entry : reader_.sequence(*sinks)) {
        Fields fields = reader_.mapping(entry, all_sink_keys());
        config.sinks.push_back(read_sink(entry, fields, config.http));
        sink_names.add(fields, "name", config.sinks.back().name);
        if (const Field* path = fields.find("path"); path && config.sinks.back().type == "file")
          outputs.emplace_back(config.sinks.back().file.path, *path);
      }
    }
    if (const Field* listeners = top.find("listeners")) {
      Fields named = read_block(reader_, *listeners, kListenersBlock, config.listeners, bases_);
      if (const Field* inbound = named.find("inbound"))
        config.listeners.inbound = read_listener(*inbound);
      if (const Field* admin = named.find("admin"))
        config.listeners.admin = read_admin_listener(*admin, config.listeners.inbound);
      if (const Field* ops = named.find("operations"))
        config.listeners.operations = read_operations_listener(*ops, config.listeners);
    }
    if (const Field* linking = top.find("linking")) {
      config.linking.position = diagnostics_.position(linking->mark);
      read_block(reader_, *linking, kLinkingBlock, config.linking, bases_);
    }
    if (const Field* logging = top.find("logging"); logging && !config.logging.file.empty())
      outputs.emplace_back(config.logging.file, *logging);
    check_outputs_spare_the_state(config, outputs);

    diagnostics_.throw_if_any();
    for (const Diagnostic& warning : diagnostics_.warnings())
      config.warnings.push_back(format_diagnostic(warning));
    return config;
  }

  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  // A sink file or the log written over the outbox, the sealed seed, a key file or the lock would
  // destroy them (appending events to vault.sealed makes the seed unreadable); two writers on one
  // file interleave their lines. Both are refused here, where the key and line are known.
  void check_outputs_spare_the_state(
      const Config& config, const std::vector<std::pair<std::filesystem::path, Field>>& outputs) {
    const DataDir dir(config.data_dir);
    std::vector<std::pair<std::filesystem::path, std::string>> state;
    for (const std::filesystem::path& db :
         {dir.outbox_db(), dir.secrets_db(), dir.keys_db(), dir.connections_db()}) {
      state.emplace_back(db, db.filename().string());
      for (const char* suffix : {"-wal", "-shm", "-journal"})
        state.emplace_back(db.string() + suffix, db.filename().string() + suffix);
    }
    for (const std::filesystem::path& f :
         {dir.outbox_key(), dir.secrets_key(), dir.status_json(), dir.lock_file()})
      state.emplace_back(f, f.filename().string());
    state.emplace_back(config.vault.file, "the sealed seed (vault.file)");
    state.emplace_back(config.vault.keyd_socket, "keyd's socket (vault.keyd_socket)");
    if (config.vault.kek.kind == KekSourceConfig::Kind::file)
      state.emplace_back(config.vault.kek.value, "the KEK file (vault.kek.file)");
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::filesystem::path out = outputs[i].first.lexically_normal();
      for (const auto& [file, what] : state) {
        if (out != file.lexically_normal()) continue;
        reader_.error(outputs[i].second,
                      "writes to " + out.string() + ", which is " + what + "; choose another file");
      }
      for (size_t j = 0; j < i; ++j)
        if (out == outputs[j].first.lexically_normal())
          reader_.error(outputs[i].second, "writes to " + out.string() + ", as " +
                                               outputs[j].second.path +
                                               " does; give each output a file of its own");
    }
  }

  ListenerConfig read_listener(const Field& field) {
    ListenerConfig listener;
    listener.position = diagnostics_.position(field.mark);
    if (field.value->is_null()) {
      reader_.error(field, "give at least port and public_url");
      return listener;
    }
    Fields fields = read_block(reader_, field, kListenerBlock, listener, bases_);
    while (listener.public_url.size() > 1 && listener.public_url.ends_with('/'))
      listener.public_url.pop_back();
    if (const Field* tls = fields.find("tls")) {
      ListenerTlsKeys keys;
      Fields given = read_block(reader_, *tls, kListenerTlsBlock, keys, bases_);
      if (tls->value->is_null()) reader_.error(*tls, "give cert_file and key_file");
      // Missing files are refused now, with the key's position, not when the daemon binds.
      for (auto [key, path] :
           {std::pair{"cert_file", &keys.cert_file}, std::pair{"key_file", &keys.key_file}}) {
        const Field* f = given.find(key);
        std::error_code ec;
        if (f && !path->empty() && !std::filesystem::is_regular_file(*path, ec))
          reader_.error(*f, "file not found: " + *path);
      }
      listener.tls_cert_file = keys.cert_file;
      listener.tls_key_file = keys.key_file;
    }
    return listener;
  }

  // `listeners.admin`: a token or a client CA (or both); TLS files that exist; its own port.
  AdminListenerConfig read_admin_listener(const Field& field,
                                          const std::optional<ListenerConfig>& inbound) {
    AdminListenerConfig admin;
    admin.position = diagnostics_.position(field.mark);
    if (field.value->is_null()) {
      reader_.error(field, "give at least port and token (or tls.client_ca_file)");
      return admin;
    }
    Fields fields = read_block(reader_, field, kAdminListenerBlock, admin, bases_);
    if (const Field* tls = fields.find("tls")) {
      AdminTlsKeys keys;
      Fields given = read_block(reader_, *tls, kAdminTlsBlock, keys, bases_);
      if (tls->value->is_null()) reader_.error(*tls, "give cert_file and key_file");
      for (auto [key, path] :
           {std::pair{"cert_file", &keys.cert_file}, std::pair{"key_file", &keys.key_file},
            std::pair{"client_ca_file", &keys.client_ca_file}}) {
        const Field* f = given.find(key);
        std::error_code ec;
        if (f && !path->empty() && !std::filesystem::is_regular_file(*path, ec))
          reader_.error(*f, "file not found: " + *path);
      }
      admin.tls_cert_file = keys.cert_file;
      admin.tls_key_file = keys.key_file;
      admin.client_ca_file = keys.client_ca_file;
    }
    const Field* token = fields.find("token");
    // The value is a secret: the messages describe it and never quote it.
    const bool visible = std::all_of(admin.token.begin(), admin.token.end(),
                                     [](char c) { return c > 0x20 && c < 0x7f; });
    if (token && !admin.token.empty() && (admin.token.size() < 16 || !visible))
      reader_.error(*token,
                    "must be at least 16 visible ASCII characters without spaces (e.g. the "
                    "output of openssl rand -hex 32)");
    if (admin.token.empty() && admin.client_ca_file.empty() && fields.find("port"))
      reader_.error(token ? *token : field,
                    "give token (as ${ENV} or ${file:...}) or tls.client_ca_file: every admin "
                    "request must be authenticated");
    if (const Field* port = fields.find("port");
        port && inbound && same_socket(inbound->address, inbound->port, admin.address, admin.port))
      reader_.error(*port, "is listeners.inbound's port; give the admin API a port of its own");
    return admin;
  }

  // `listeners.operations`: a port of its own.
  OperationsListenerConfig read_operations_listener(const Field& field,
                                                    const ListenersConfig& others) {
    OperationsListenerConfig ops;
    ops.position = diagnostics_.position(field.mark);
    if (field.value->is_null()) {
      reader_.error(field, "give at least port");
      return ops;
    }
    Fields fields = read_block(reader_, field, kOperationsListenerBlock, ops, bases_);
    auto clashes = [&](const std::string& address, uint32_t port) {
      return same_socket(address, port, ops.address, ops.port);
    };
    if (const Field* port = fields.find("port")) {
      if (others.inbound && clashes(others.inbound->address, others.inbound->port))
        reader_.error(*port, "is listeners.inbound's port; give the operations listener its own");
      else if (others.admin && clashes(others.admin->address, others.admin->port))
        reader_.error(*port, "is listeners.admin's port; give the operations listener its own");
    }
    return ops;
  }

  Fields read_vault(const Field& field, VaultSettings& out) {
    out.position = diagnostics_.position(field.mark);
    Fields fields = read_block(reader_, field, kVaultBlock, out, bases_);
    if (const Field* kek = fields.find("kek")) {
      if (auto source = read_kek_source(*kek, kKekBlock)) out.kek = *source;
    }
    return fields;
  }

  // `vault.kek` or `data_kek`: exactly one of env, file, command. nullopt after reporting.
  std::optional<KekSourceConfig> read_kek_source(const Field& field,
                                                 const SettingBlock<KekSourceKeys>& block) {
    KekSourceKeys keys;
    Fields given = read_block(reader_, field, block, keys, bases_);
    if (given.entries().size() != 1 || !field.value->is_mapping()) {
      reader_.error(field, "give exactly one of env, file or command");
      return std::nullopt;
    }
    if (given.find("env")) return KekSourceConfig{KekSourceConfig::Kind::env, keys.env};
    if (given.find("file")) return KekSourceConfig{KekSourceConfig::Kind::file, keys.file};
    return KekSourceConfig{KekSourceConfig::Kind::command, keys.command};
  }

  // The two KEKs must be two secrets: with keyd the host holds only the data KEK, and a data KEK
  // equal to the seed KEK would hand it the seed's key after all.
  void check_data_kek(const Config& config, const Field* vault, const Fields* vault_fields,
                      const Field* data_kek) {
    if (config.vault.backend == VaultSettings::Backend::keyd && !data_kek) {
      const Field* backend = vault_fields ? vault_fields->find("backend") : nullptr;
      reader_.error(backend ? *backend : *vault,
                    "backend keyd needs a top-level data_kek (env, file or command) for the "
                    "outbox and secret-store keys: the host must not read the seed KEK "
                    "(vault.kek), which only oemlink-keyd uses");
    }
    if (data_kek && config.data_kek && *config.data_kek == config.vault.kek) {
      reader_.error(*data_kek,
                    "is the same source as vault.kek; the data KEK must be a second secret "
                    "(with backend in_process, leave data_kek out to use vault.kek)");
    }
  }

  DriverConfig read_driver(const Field& entry, const Fields& fields) {
    DriverConfig driver;
    driver.position = diagnostics_.position(entry.mark);
    driver.base_dir = reader_.base_dir();
    driver.key_path = entry.path;
    if (!entry.value->is_mapping()) return driver;  // already reported
    read_rows(reader_, fields, kDriverBlock.rows, driver, bases_);
    // A bare name stays unresolved: the loader searches its plugin directories for it.
    if (driver.library.find('/') != std::string::npos)
      driver.library_path = resolve_path(reader_.base_dir(), driver.library);
    if (const Field* rate_limit = fields.find("rate_limit")) {
      Fields limit = read_block(reader_, *rate_limit, kRateLimitBlock, driver.rate_limit, bases_);
      if (driver.rate_limit.per_second > 0 && driver.rate_limit.per_second < 0.001) {
        // Below one request per ~17 minutes a poll interval says it better; such rates are
        // almost always a unit mistake.
        reader_.invalid(*limit.find("per_second"), "must be 0 (unlimited) or at least 0.001");
        driver.rate_limit.per_second = 0;
      }
    }
    if (const Field* settings = fields.find("settings")) {
      // Keys and types are checked by driver_settings_to_json() once the driver's table is
      // known; the shape and the placeholders can be checked now, with everything else.
      if (!settings->value->is_null() && !settings->value->is_mapping()) {
        reader_.invalid(*settings, "expected a mapping");
      } else {
        reader_.check_placeholders(*settings);
        driver.settings = *settings->value;
      }
    }
    return driver;
  }

  ConnectionConfig read_connection(const Field& entry, const Fields& fields) {
    ConnectionConfig connection;
    connection.position = diagnostics_.position(entry.mark);
    if (!entry.value->is_mapping()) return connection;
    // Above every valid key_child: still there after reading means absent or invalid.
    constexpr uint32_t kUnread = UINT32_MAX;
    connection.key_child = kUnread;
    read_rows(reader_, fields, kConnectionBlock.rows, connection, bases_);
    if (connection.key_child == kUnread) {
      connection.key_child = 0;
    } else if (auto [owner, inserted] =
                   key_child_owners_.emplace(connection.key_child, connection.id);
               !inserted) {
      // One key for two cars would make their events indistinguishable to DIMO.
      reader_.error(*fields.find("key_child"), "key_child " + std::to_string(connection.key_child) +
                                                   " is already used by connection \"" +
                                                   owner->second + "\"");
    }
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

  SinkConfig read_sink(const Field& entry, const Fields& fields, const HttpConfig& http) {
    SinkConfig sink;
    sink.position = diagnostics_.position(entry.mark);
    if (!entry.value->is_mapping()) return sink;
    read_rows(reader_, fields, kSinkBlock.rows, sink, bases_);
    if (sink.type.empty()) return sink;  // already reported
    std::vector<std::string_view> allowed = table_keys(kMqttSinkBlock.rows);
    if (sink.type == "file") allowed = table_keys(kFileSinkBlock.rows);
    if (sink.type == "dimo_https") allowed = table_keys(kHttpsSinkBlock.rows);
    // Every type takes the common rows (name, type, staleness).
    const std::vector<std::string_view> common = table_keys(kSinkBlock.rows);
    allowed.insert(allowed.end(), common.begin(), common.end());
    for (const auto& [key, field] : fields.entries()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        reader_.error(field, "does not apply to a " + sink.type + " sink");
    }
    if (sink.type == "file") {
      read_rows(reader_, fields, kFileSinkBlock.rows, sink.file, bases_);
    } else if (sink.type == "dimo_https") {
      read_rows(reader_, fields, kHttpsSinkBlock.rows, sink.https, bases_);
      check_https_sink(fields, sink.https, http);
    } else {
      read_rows(reader_, fields, kMqttSinkBlock.rows, sink.mqtt, bases_);
      check_mqtt_sink(fields, sink.mqtt);
      if (sink.mqtt.client_id.empty()) sink.mqtt.client_id = "oemlink-" + sink.name;
    }
    return sink;
  }

  void check_https_sink(const Fields& fields, const HttpsSinkConfig& https,
                        const HttpConfig& http) {
    if (https.client_cert.empty() != https.client_key.empty())
      reader_.error(*fields.find(https.client_cert.empty() ? "client_key" : "client_cert"),
                    "client_cert and client_key go together (mutual TLS)");
    // The HTTP client refuses plain http:// at every request; refuse it here instead, where
    // check-config sees it.
    if (https.url.starts_with("http://") && !http.allow_plain_http)
      reader_.error(*fields.find("url"),
                    "plain http:// needs http.allow_plain_http: true (tests, local mocks)");
  }

  void check_mqtt_sink(const Fields& fields, const MqttSinkConfig& mqtt) {
    // A password sent in clear is readable by anyone on the path to the broker.
    if (!mqtt.password.empty() && !mqtt.uses_tls() && !mqtt.allow_plain_mqtt)
      reader_.error(*fields.find("password"),
                    "a password without TLS needs tls: true (or ca_file), or allow_plain_mqtt: "
                    "true for a local broker");
    if ((!mqtt.client_cert.empty() || !mqtt.client_key.empty()) && !mqtt.uses_tls())
      reader_.error(*fields.find(mqtt.client_cert.empty() ? "client_key" : "client_cert"),
                    "a client certificate needs TLS: tls: true or ca_file");
  }

  Diagnostics diagnostics_;
  YamlReader reader_;
  PathBases bases_;
  std::map<uint32_t, std::string> key_child_owners_;  // key_child -> connection id
};

}  // namespace

Config load_config_text(std::string_view yaml, std::string_view source_name,
                        std::filesystem::path base_dir) {
  ConfigReader config_reader(std::string(source_name), fs::absolute(base_dir).lexically_normal());
  ConfigNode root;
  try {
    root = parse_yaml(yaml);
  } catch (const YamlSyntaxError& error) {
    config_reader.diagnostics().add(error.mark(), "",
                                    std::string("YAML syntax error: ") + error.what());
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
                    "cannot read the configuration file: " + read_error_text(error)}});
  }
  fs::path base_dir = path.parent_path();
  return load_config_text(*text, path.string(), base_dir.empty() ? fs::path(".") : base_dir);
}

}  // namespace oemlink::config
