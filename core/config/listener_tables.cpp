#include "core/config/tables.hpp"
#include "core/config/value_checks.hpp"

namespace oemlink::config {
namespace {

const Setting<ListenersConfig> kListenersRows[] = {
    {{.key = "inbound",
      .type = SettingType::block,
      .default_note = "none",
      .description = "the front door for webhooks (`POST /webhooks/<driver name>`): see "
                     "`listeners.inbound`"},
     {}},
    {{.key = "admin",
      .type = SettingType::block,
      .default_note = "none",
      .description = "the admin API (`/admin/connections`, `oemlink connections`): see "
                     "`listeners.admin`"},
     {}},
    {{.key = "operations",
      .type = SettingType::block,
      .default_note = "none",
      .description = "Prometheus `/metrics`, `/healthz` and `/readyz`: see "
                     "`listeners.operations`"},
     {}},
};

constexpr Range kPort{1, 65535, "must be a port between 1 and 65535", "1–65535"};

const Setting<ListenerConfig> kListenerRows[] = {
    {{.key = "address",
      .type = SettingType::string,
      .flags = kNotEmpty,
      .default_value = "127.0.0.1",
      .description = "address to bind; `0.0.0.0` or `::` to accept from every interface"},
     &ListenerConfig::address},
    {{.key = "port",
      .type = SettingType::integer,
      .flags = kRequired,
      .description = "TCP port to listen on",
      .range = kPort},
     &ListenerConfig::port},
    {{.key = "public_url",
      .type = SettingType::string,
      .flags = kRequired,
      .description = "the externally visible base URL senders use (behind a proxy: the proxy's); "
                     "a driver's webhook URL is this + `/webhooks/<driver name>`",
      .check = {is_http_url, "must start with https:// or http://"}},
     &ListenerConfig::public_url},
    {{.key = "tls",
      .type = SettingType::block,
      .default_note = "none: plain HTTP",
      .description = "serve HTTPS: see `listeners.inbound.tls`"},
     {}},
    {{.key = "max_body",
      .type = SettingType::size,
      .default_value = "64KiB",
      .description = "larger request bodies get 413 without being read",
      .range = {1024, 16 << 20, "must be between 1KiB and 16MiB", "1KiB–16MiB"}},
     &ListenerConfig::max_body},
    {{.key = "header_timeout",
      .type = SettingType::duration,
      .default_value = "10s",
      .description = "from connect (TLS handshake included) to a complete request header; "
                     "slower clients get 408",
      .range = kPositive},
     &ListenerConfig::header_timeout},
    {{.key = "body_timeout",
      .type = SettingType::duration,
      .default_value = "10s",
      .description = "from the header to the complete body; slower clients get 408",
      .range = kPositive},
     &ListenerConfig::body_timeout},
    {{.key = "idle_timeout",
      .type = SettingType::duration,
      .default_value = "60s",
      .description = "a keep-alive connection with no request for this long is closed",
      .range = kPositive},
     &ListenerConfig::idle_timeout},
    {{.key = "max_connections",
      .type = SettingType::integer,
      .default_value = "1024",
      .description = "open connections at most; more are closed at accept and counted",
      .range = kAtLeastOne},
     &ListenerConfig::max_connections},
    {{.key = "durable_timeout",
      .type = SettingType::duration,
      .default_value = "10s",
      .description = "a webhook's 2xx waits this long at most for its readings to be durable in "
                     "the outbox, else the sender gets 503 and retries (Smartcar waits 15 s)",
      .range = kPositive},
     &ListenerConfig::durable_timeout},
};

const Setting<ListenerTlsKeys> kTlsRows[] = {
    {{.key = "cert_file",
      .type = SettingType::path,
      .flags = kRequired | kNotEmpty,
      .description = "PEM certificate chain, server certificate first"},
     &ListenerTlsKeys::cert_file},
    {{.key = "key_file",
      .type = SettingType::path,
      .flags = kRequired | kNotEmpty,
      .description = "PEM private key of the certificate"},
     &ListenerTlsKeys::key_file},
};

const Setting<AdminListenerConfig> kAdminListenerRows[] = {
    {{.key = "address",
      .type = SettingType::string,
      .flags = kNotEmpty,
      .default_value = "127.0.0.1",
      .description = "address to bind; anything but loopback without TLS is logged as a warning "
                     "(the bearer token would cross the network in clear)"},
     &AdminListenerConfig::address},
    {{.key = "port",
      .type = SettingType::integer,
      .flags = kRequired,
      .description = "TCP port to listen on; not `listeners.inbound`'s",
      .range = kPort},
     &AdminListenerConfig::port},
    {{.key = "token",
      .type = SettingType::string,
      .flags = kSecret,
      .default_note = "none",
      .description = "the bearer token every request must carry (`Authorization: Bearer …`), "
                     "compared in constant time; at least 16 visible ASCII characters; give it "
                     "as `${ENV}` or `${file:...}` (e.g. `openssl rand -hex 32`). Required "
                     "unless `tls.client_ca_file` is set"},
     &AdminListenerConfig::token},
    {{.key = "max_connections",
      .type = SettingType::integer,
      .default_value = "64",
      .description = "open connections at most; more are closed at accept and counted",
      .range = kAtLeastOne},
     &AdminListenerConfig::max_connections},
    {{.key = "tls",
      .type = SettingType::block,
      .default_note = "none: plain HTTP",
      .description = "serve HTTPS, optionally with client certificates: see "
                     "`listeners.admin.tls`"},
     {}},
};

const Setting<OperationsListenerConfig> kOperationsListenerRows[] = {
    {{.key = "address",
      .type = SettingType::string,
      .flags = kNotEmpty,
      .default_value = "127.0.0.1",
      .description = "address to bind; the routes are unauthenticated (as Prometheus targets "
                     "are): bind where only the scraper and the orchestrator reach it"},
     &OperationsListenerConfig::address},
    {{.key = "port",
      .type = SettingType::integer,
      .flags = kRequired,
      .description = "TCP port to listen on; not another listener's",
      .range = kPort},
     &OperationsListenerConfig::port},
    {{.key = "max_connections",
      .type = SettingType::integer,
      .default_value = "64",
      .description = "open connections at most; more are closed at accept and counted",
      .range = kAtLeastOne},
     &OperationsListenerConfig::max_connections},
};

const Setting<AdminTlsKeys> kAdminTlsRows[] = {
    {{.key = "cert_file",
      .type = SettingType::path,
      .flags = kRequired | kNotEmpty,
      .description = "PEM certificate chain, server certificate first"},
     &AdminTlsKeys::cert_file},
    {{.key = "key_file",
      .type = SettingType::path,
      .flags = kRequired | kNotEmpty,
      .description = "PEM private key of the certificate"},
     &AdminTlsKeys::key_file},
    {{.key = "client_ca_file",
      .type = SettingType::path,
      .flags = kNotEmpty,
      .default_note = "none: no client certificates",
      .description = "PEM CA certificates: a client certificate they signed authenticates a "
                     "request without the token; a certificate that does not verify fails the "
                     "handshake. Without `token`, a certificate is required"},
     &AdminTlsKeys::client_ca_file},
};

}  // namespace

const SettingBlock<ListenersConfig> kListenersBlock{
    .path = "listeners",
    .intro =
        "Inbound HTTP servers, each named. Without this section the daemon listens on no "
        "port.",
    .rows = kListenersRows,
};

const SettingBlock<ListenerConfig> kListenerBlock{
    .path = "listeners.inbound",
    .intro =
        "The host's one HTTP front door: `POST /webhooks/<driver name>` for every driver "
        "that takes webhooks. Requests that break a limit are answered 4xx/408 (or closed), "
        "counted (`oemlink_http_rejected_total{listener=\"inbound\"}`) and never reach a driver.",
    .rows = kListenerRows,
};

const SettingBlock<ListenerTlsKeys> kListenerTlsBlock{
    .path = "listeners.inbound.tls",
    .intro = "HTTPS for the listener. Both files must exist when the configuration is read.",
    .rows = kTlsRows,
};

const SettingBlock<AdminListenerConfig> kAdminListenerBlock{
    .path = "listeners.admin",
    .intro =
        "The admin API on its own listener: list, inspect, add, pause, resume, revoke and poll "
        "connections and record their minted token ids (`oemlink connections …` is its "
        "client; core/admin/README.md has the routes). Every request is authenticated by the "
        "bearer `token` or, with `tls.client_ca_file`, a client certificate; at least one of "
        "the two is required. Refusals answer 401 and count `oemlink_admin_auth_failures_total`.",
    .rows = kAdminListenerRows,
};

const SettingBlock<OperationsListenerConfig> kOperationsListenerBlock{
    .path = "listeners.operations",
    .intro =
        "Operations endpoints on their own listener: `GET /metrics` (Prometheus text format, "
        "every family prefixed `oemlink_`, no label per connection), `GET /healthz` (200 while "
        "the process serves) and `GET /readyz` (200 when the config is loaded, the vault open, "
        "the outbox writable and every sink delivering within its `staleness`; otherwise 503 "
        "with a JSON body naming what is not ready).",
    .rows = kOperationsListenerRows,
};

const SettingBlock<AdminTlsKeys> kAdminTlsBlock{
    .path = "listeners.admin.tls",
    .intro = "HTTPS for the admin API. Every file must exist when the configuration is read.",
    .rows = kAdminTlsRows,
};

}  // namespace oemlink::config
