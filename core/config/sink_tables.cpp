#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

constexpr std::string_view kSinkTypes[] = {"file", "dimo_https", "mqtt"};

const Setting<SinkConfig> kRows[] = {
    {{.key = "name",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "the sink's name in logs, status and the outbox's cursors; unique",
      .check = {is_lower_name, "must match [a-z0-9_-]+"},
      .shape = "`[a-z0-9_-]+`"},
     &SinkConfig::name},
    {{.key = "type",
      .type = SettingType::choice,
      .flags = kRequired,
      .description = "which of the tables below applies",
      .choices = kSinkTypes},
     &SinkConfig::type},
    {{.key = "staleness",
      .type = SettingType::duration,
      .default_value = "5m",
      .description = "readiness: with events waiting for this sink and none delivered for this "
                     "long, `/readyz` answers 503 naming the sink",
      .range = kPositive},
     &SinkConfig::staleness},
};

// Outputs live with the data: the file sink's path resolves against data_dir.
const Setting<FileSinkConfig> kFileRows[] = {
    {{.key = "path",
      .type = SettingType::path,
      .flags = kRequired | kNotEmpty,
      .description = "the current file; rotated files get a numbered suffix",
      .base = PathBase::data_dir},
     &FileSinkConfig::path},
    {{.key = "rotate_bytes",
      .type = SettingType::size,
      .default_value = "256MiB",
      .description = "start a new file beyond this",
      .range = kPositive},
     &FileSinkConfig::rotate_bytes},
    {{.key = "keep_files",
      .type = SettingType::integer,
      .default_value = "8",
      .description = "rotated files kept",
      .range = kAtLeastOne},
     &FileSinkConfig::keep_files},
    {{.key = "flush_interval",
      .type = SettingType::duration,
      .flags = kDeprecated,
      .description = "has no effect: every line is fsynced before it counts as delivered; "
                     "remove the key"},
     {}},
};

// Certificates, keys and CA bundles ship next to the config, like ${file:...} secrets.
const Setting<HttpsSinkConfig> kHttpsRows[] = {
    {{.key = "url",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "the ingest node; `http://` only with `http.allow_plain_http: true`",
      .check = {is_http_url, "expected an https:// URL"},
      .shape = "`https://…`"},
     &HttpsSinkConfig::url},
    {{.key = "client_cert",
      .type = SettingType::path,
      .description = "PEM; its subject CN is `dimo.source`. With `client_key`: both or neither"},
     &HttpsSinkConfig::client_cert},
    {{.key = "client_key",
      .type = SettingType::path,
      .description = "PEM private key of `client_cert`"},
     &HttpsSinkConfig::client_key},
    {{.key = "ca_file",
      .type = SettingType::path,
      .default_note = "system store",
      .description = "CA that signed the ingest node's certificate"},
     &HttpsSinkConfig::ca_file},
    {{.key = "max_in_flight",
      .type = SettingType::integer,
      .default_value = "64",
      .description = "concurrent requests (one per connection at a time)",
      .range = kAtLeastOne},
     &HttpsSinkConfig::max_in_flight},
    {{.key = "timeout",
      .type = SettingType::duration,
      .default_value = "10s",
      .description = "per request",
      .range = kPositive},
     &HttpsSinkConfig::timeout},
};

const Setting<MqttSinkConfig> kMqttRows[] = {
    {{.key = "host",
      .type = SettingType::string,
      .default_value = "127.0.0.1",
      .description = "the broker"},
     &MqttSinkConfig::host},
    {{.key = "port",
      .type = SettingType::integer,
      .default_value = "1883",
      .description = "the broker's TCP port",
      .range = {1, 65535, "must be a TCP port (1-65535)", "1–65535"}},
     &MqttSinkConfig::port},
    {{.key = "client_id",
      .type = SettingType::string,
      .default_note = "`oemlink-<name>`",
      .description = "stable, unique per deployment"},
     &MqttSinkConfig::client_id},
    {{.key = "username",
      .type = SettingType::string,
      .default_note = "empty",
      .description = "broker login"},
     &MqttSinkConfig::username},
    {{.key = "password",
      .type = SettingType::string,
      .flags = kSecret,
      .default_note = "empty",
      .description = "put it in `${ENV}` or `${file:…}`"},
     &MqttSinkConfig::password},
    {{.key = "topic",
      .type = SettingType::string,
      .default_value = "oemlink/{connection}",
      .description = "`{connection}` = connection id, `{vehicle_token}` = the vehicle NFT id",
      .check = {is_mqtt_topic, "must be a non-empty topic without + or #"},
      .shape = "template"},
     &MqttSinkConfig::topic},
    {{.key = "keepalive",
      .type = SettingType::duration,
      .default_value = "30s",
      .description = "MQTT keep-alive",
      .range = kPositive},
     &MqttSinkConfig::keepalive},
    {{.key = "tls",
      .type = SettingType::boolean,
      .default_value = "false",
      .description = "TLS (1.2 or later), the broker's certificate checked against the system CA "
                     "store, or `ca_file` when given"},
     &MqttSinkConfig::tls},
    {{.key = "ca_file",
      .type = SettingType::path,
      .default_note = "empty: system store",
      .description = "the CA of the broker's certificate; setting it turns TLS on"},
     &MqttSinkConfig::ca_file},
    {{.key = "client_cert",
      .type = SettingType::path,
      .description = "PEM client certificate for TLS"},
     &MqttSinkConfig::client_cert},
    {{.key = "client_key",
      .type = SettingType::path,
      .description = "PEM private key of `client_cert`"},
     &MqttSinkConfig::client_key},
    {{.key = "allow_plain_mqtt",
      .type = SettingType::boolean,
      .default_value = "false",
      .description = "allow a `password` without TLS (a local broker); without it that is refused"},
     &MqttSinkConfig::allow_plain_mqtt},
    {{.key = "max_in_flight",
      .type = SettingType::integer,
      .default_value = "256",
      .description = "QoS 1 messages awaiting the broker's acknowledgement",
      .range = kAtLeastOne},
     &MqttSinkConfig::max_in_flight},
};

}  // namespace

const SettingBlock<SinkConfig> kSinkBlock{
    .path = "sinks[]",
    .intro =
        "Where events are delivered, each from the outbox at its own cursor: a slow sink "
        "holds back only itself (within the outbox bound). Keys depend on `type`; a key of "
        "another type is an error.",
    .rows = kRows,
};

const SettingBlock<FileSinkConfig> kFileSinkBlock{
    .path = "sinks[] (type: file)",
    .intro =
        "JSON Lines, one signed CloudEvent per line; a line counts as delivered once it is "
        "fsynced.",
    .rows = kFileRows,
};

const SettingBlock<HttpsSinkConfig> kHttpsSinkBlock{
    .path = "sinks[] (type: dimo_https)",
    .intro =
        "DIMO's ingest node: `POST /` with one CloudEvent, mutual TLS. 200 delivers; "
        "400/413 dead-letters (`oemlink deadletter`); 408/429/5xx, timeouts and TLS or "
        "network failures retry with exponential back-off and jitter, never sooner than "
        "`Retry-After`. Events of one connection arrive in order.",
    .rows = kHttpsRows,
};

const SettingBlock<MqttSinkConfig> kMqttSinkBlock{
    .path = "sinks[] (type: mqtt)",
    .intro =
        "An MQTT broker (libmosquitto, MQTT 5, QoS 1, not retained), one topic per "
        "vehicle.",
    .rows = kMqttRows,
};

}  // namespace oemlink::config
