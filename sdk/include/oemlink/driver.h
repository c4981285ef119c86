/*
 * oemlink driver ABI — the one contract between the oemlink host and an OEM driver.
 *
 * Plain C, fixed-width types, versioned. A driver is a shared library that exports exactly one
 * symbol, `oemlink_driver_entry`, returning a const descriptor. Everything else is reached
 * from that descriptor (driver -> host calls) or from the host table handed to `create`
 * (host services the driver calls).
 *
 * Compatibility rules (CLAP / Vulkan style):
 *  - OEMLINK_ABI_MAJOR changes only when an existing layout or meaning changes. The host refuses
 *    a driver whose major differs and names both versions.
 *  - New fields and functions are only ever appended to a struct, and the minor version bumps.
 *    Every struct starts with `struct_size`; a reader touches a field only if
 *    `struct_size` covers it (use OEMLINK_HAS_FIELD). Old drivers keep loading into newer hosts.
 *  - Optional interfaces are looked up by versioned string id ("oemlink.<name>/<rev>") through
 *    `host->get_service` and `driver->get_extension`; NULL means absent. An id is never reused
 *    with another meaning: a changed interface gets a new id.
 *
 * Memory: strings and buffers cross as (pointer, length) views that are valid only for the
 * duration of the call that passes them. Whoever needs to keep one copies it. No C++ types,
 * exceptions or allocator ownership cross the boundary.
 *
 * Thread rules are written in brackets above each function:
 *  [host-loop]       called by the host from its event loop thread, never concurrently with
 *                    another [host-loop] call into the same driver instance.
 *  [per-connection]  the host serialises calls for one connection; calls for different
 *                    connections may run concurrently on different host threads.
 *  [any-thread]      may be called from any thread, concurrently.
 * Blocking inside a driver call is a bug: the host times every call and logs slow ones with
 * the driver and connection named. The one wait a driver may cause is the host's own: the
 * secret calls are synchronous and secret_put waits for its disk write (see there).
 */
#ifndef OEMLINK_DRIVER_H
#define OEMLINK_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OEMLINK_ABI_MAJOR 1
#define OEMLINK_ABI_MINOR 2

#if defined(_WIN32)
#define OEMLINK_CALL __cdecl
#define OEMLINK_EXPORT __declspec(dllexport)
#else
#define OEMLINK_CALL
#define OEMLINK_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct of the given (reader-side) type, as filled by the other side, is large
 * enough to contain `field`. */
#define OEMLINK_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ---------------------------------------------------------------------------------------------
 * Basic types
 * ------------------------------------------------------------------------------------------- */

/* Every ABI call answers one of these. */
typedef int32_t oemlink_status;
enum {
  OEMLINK_OK = 0,    /* done */
  OEMLINK_RETRY = 1, /* not now: back-pressure or a transient failure; try again later */
  OEMLINK_ERROR = 2  /* failed; a message says why */
};

/* A borrowed view of bytes (usually UTF-8 text, not NUL-terminated). */
typedef struct oemlink_str {
  const char* data;
  size_t size;
} oemlink_str;

/* Log levels, matching the host's logger. */
typedef int32_t oemlink_log_level;
enum {
  OEMLINK_LOG_TRACE = 0,
  OEMLINK_LOG_DEBUG = 1,
  OEMLINK_LOG_INFO = 2,
  OEMLINK_LOG_WARN = 3,
  OEMLINK_LOG_ERROR = 4
};

/* Capability flags a driver declares in its descriptor. */
typedef uint64_t oemlink_capabilities;
#define OEMLINK_CAP_POLL ((uint64_t)1 << 0)    /* implements poll() */
#define OEMLINK_CAP_STREAM ((uint64_t)1 << 1)  /* implements stream_start()/stream_stop() */
#define OEMLINK_CAP_WEBHOOK ((uint64_t)1 << 2) /* implements webhook() (ABI 1.1: routed) */

/* What a driver knows about a connection's health; reported with host->report_state. */
typedef int32_t oemlink_conn_state;
enum {
  OEMLINK_STATE_OK = 0,           /* data flows */
  OEMLINK_STATE_ASLEEP = 1,       /* car asleep/offline: host polls at the longer asleep interval */
  OEMLINK_STATE_RATE_LIMITED = 2, /* nothing before `until_unix_ms` (may be hours away) */
  OEMLINK_STATE_NEEDS_REAUTH = 3, /* tokens are dead: host stops polling and surfaces it */
  OEMLINK_STATE_FAILED = 4        /* permanent failure with a reason: host stops polling */
};

/* Opaque handles. `oemlink_instance` is the driver's (one per driver entry in config);
 * `oemlink_conn` is the host's (one per linked car) and stays valid until close(). */
typedef struct oemlink_instance oemlink_instance;
typedef struct oemlink_conn oemlink_conn;
typedef struct oemlink_host oemlink_host;

/* ---------------------------------------------------------------------------------------------
 * Readings: what a driver emits, already in DIMO signal names and units
 * ------------------------------------------------------------------------------------------- */

typedef int32_t oemlink_value_kind;
enum {
  OEMLINK_VALUE_NUMBER = 0,  /* `number`; booleans are 0/1 */
  OEMLINK_VALUE_STRING = 1,  /* `text` */
  OEMLINK_VALUE_LOCATION = 2 /* `latitude`, `longitude`, optional `hdop` (NaN when absent) */
};

typedef struct oemlink_reading {
  uint32_t struct_size;
  oemlink_str name;     /* DIMO signal name, e.g. "speed", "powertrainRange" */
  int64_t timestamp_ms; /* when the OEM measured it (Unix ms), not when it was polled */
  oemlink_value_kind kind;
  double number;
  oemlink_str text;
  double latitude;
  double longitude;
  double hdop;
} oemlink_reading;

/* ---------------------------------------------------------------------------------------------
 * HTTP: the host's asynchronous client (drivers never link an HTTP library)
 * ------------------------------------------------------------------------------------------- */

typedef struct oemlink_http_header {
  oemlink_str name;
  oemlink_str value;
} oemlink_http_header;

typedef struct oemlink_http_request {
  uint32_t struct_size;
  oemlink_str method; /* "GET", "POST", ... */
  oemlink_str url;    /* absolute https:// (or http:// when the operator allows it) */
  const oemlink_http_header* headers;
  size_t header_count;
  oemlink_str body;
  uint32_t timeout_ms; /* whole request; 0 = host default */
} oemlink_http_request;

typedef struct oemlink_http_response {
  uint32_t struct_size;
  /* OEMLINK_OK when an HTTP response arrived (whatever its status code);
   * OEMLINK_RETRY on timeout, connection or TLS failure (`error` says which). */
  oemlink_status status;
  int32_t http_status;
  const oemlink_http_header* headers; /* names as sent by the server; compare case-insensitively */
  size_t header_count;
  oemlink_str body;
  oemlink_str error;
} oemlink_http_response;

/* [any-thread] Called exactly once per accepted request. `response` and everything it points to
 * are valid only during the call. */
typedef void(OEMLINK_CALL* oemlink_http_done_fn)(void* ctx, const oemlink_http_response* response);

/* [any-thread] A timer fired (or was cancelled: `cancelled` = 1). Called exactly once. */
typedef void(OEMLINK_CALL* oemlink_timer_fn)(void* ctx, int32_t cancelled);

/* ---------------------------------------------------------------------------------------------
 * Host services: the table the host hands to create(). Valid until destroy() returns.
 * ------------------------------------------------------------------------------------------- */

struct oemlink_host {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved0;
  void* host_data; /* the host's; drivers must not touch it */

  /* [any-thread] Log a line, attributed to this driver and, when `conn` is not NULL, the
   * connection. Never pass secrets: the host does not redact. */
  void(OEMLINK_CALL* log)(const oemlink_host* host, oemlink_conn* conn, oemlink_log_level level,
                          oemlink_str message);

  /* [any-thread] Emit readings for a connection, in DIMO names and units. The host validates
   * each reading, builds one signed event per call and hands it to the outbox.
   * Returns OEMLINK_OK when all were accepted;
   *         OEMLINK_RETRY when the host is applying back-pressure: nothing was taken, keep the
   *           readings and emit them again later;
   *         OEMLINK_ERROR when some readings were rejected (each is logged with its reason and
   *           counted); the valid ones were accepted: do not emit them again. */
  oemlink_status(OEMLINK_CALL* emit)(const oemlink_host* host, oemlink_conn* conn,
                                     const oemlink_reading* readings, size_t count);

  /* [any-thread] Report what the driver learned about a connection. `until_unix_ms` is used
   * with OEMLINK_STATE_RATE_LIMITED (0 = host default back-off); `reason` is shown to operators. */
  void(OEMLINK_CALL* report_state)(const oemlink_host* host, oemlink_conn* conn,
                                   oemlink_conn_state state, int64_t until_unix_ms,
                                   oemlink_str reason);

  /* [any-thread] Start an HTTP request. `conn` may be NULL for instance-wide calls.
   * Returns OEMLINK_OK when accepted (`done` will be called exactly once, possibly before this
   * returns); OEMLINK_ERROR for a malformed request (`done` is not called). */
  oemlink_status(OEMLINK_CALL* http_request)(const oemlink_host* host, oemlink_conn* conn,
                                             const oemlink_http_request* request,
                                             oemlink_http_done_fn done, void* ctx);

  /* [any-thread] Durable, atomic per-connection secret storage (OAuth tokens). Allowed from
   * open() on: a driver may write one connection's secrets from another connection's call (a
   * token chain shared by an account's cars); the host serialises the store.
   * secret_get copies the value into `buf` (capacity `cap`) and sets `*size`.
   *   OEMLINK_OK: found; OEMLINK_RETRY: `cap` too small, `*size` is the size needed;
   *   OEMLINK_ERROR: no such key (`*size` = 0) or storage failure (logged by the host).
   * secret_put stores all `count` key/value pairs in one transaction that is durable when it
   * returns OEMLINK_OK: a rotated refresh token and its access token are never half-written.
   * Values are encrypted at rest and never logged.
   * These are synchronous: secret_put returns after its transaction is on disk (an fsync,
   * usually milliseconds), secret_get may read the disk. That wait is the host's, allowed by the
   * "never block" rule; keep it rare: read secrets when a connection opens or a token expires,
   * write them once per token refresh, never per reading or in a loop. */
  oemlink_status(OEMLINK_CALL* secret_get)(const oemlink_host* host, oemlink_conn* conn,
                                           oemlink_str key, char* buf, size_t cap, size_t* size);
  oemlink_status(OEMLINK_CALL* secret_put)(const oemlink_host* host, oemlink_conn* conn,
                                           const oemlink_str* keys, const oemlink_str* values,
                                           size_t count);

  /* [any-thread] One-shot timer. Returns a non-zero id, or 0 on failure. `fn` is called exactly
   * once: when it fires, or with cancelled=1 after timer_cancel or at shutdown. */
  uint64_t(OEMLINK_CALL* timer_start)(const oemlink_host* host, uint32_t delay_ms,
                                      oemlink_timer_fn fn, void* ctx);
  void(OEMLINK_CALL* timer_cancel)(const oemlink_host* host, uint64_t timer_id);

  /* [any-thread] Add to the host's counter oemlink_driver_events_total{driver="<instance>",
   * name="<name>"}; name is 1-64 characters of [a-z0-9_], and a host counts at most 100
   * distinct names per driver instance (the rest are counted as refused). */
  void(OEMLINK_CALL* counter_add)(const oemlink_host* host, oemlink_str name, uint64_t delta);

  /* [any-thread] Current time as the host sees it (Unix ms). Drivers use this, not the system
   * clock, so tests can control time. */
  int64_t(OEMLINK_CALL* now_unix_ms)(const oemlink_host* host);

  /* [any-thread] Optional host services by id (OEMLINK_SERVICE_* below). NULL if absent: a
   * host older than the service, or one whose operator did not configure what it needs. The
   * returned table is valid until destroy() returns. */
  const void*(OEMLINK_CALL* get_service)(const oemlink_host* host, const char* id);
};

/* ---------------------------------------------------------------------------------------------
 * Optional host services (ABI 1.1). Reached with host->get_service(host, OEMLINK_SERVICE_...).
 * Each table starts with struct_size; check OEMLINK_HAS_FIELD before touching a later field.
 * ------------------------------------------------------------------------------------------- */

/* The public URL at which this driver instance receives webhooks: the operator's externally
 * visible base URL (listeners config) + "/webhooks/<instance name>". Absent (NULL service) when no
 * inbound listener is configured. */
#define OEMLINK_SERVICE_WEBHOOK_URL "oemlink.webhook-url/1"
typedef struct oemlink_webhook_url_service {
  uint32_t struct_size;
  /* [any-thread] Copies the URL into `buf` (capacity `cap`, not NUL-terminated) and sets
   * `*size`. OEMLINK_OK: copied; OEMLINK_RETRY: `cap` too small, `*size` is what is needed. */
  oemlink_status(OEMLINK_CALL* webhook_url)(const oemlink_host* host, char* buf, size_t cap,
                                            size_t* size);
} oemlink_webhook_url_service;

/* MQTT subscriptions run by the host (libmosquitto), for drivers whose maker data arrives through a
 * broker (Tesla Fleet Telemetry's MQTT dispatcher). The host connects, reconnects with back-off,
 * re-subscribes after each reconnect, and uses a persistent session (clean_session = false) with
 * the given client id when qos is 1, so messages published while it was away are delivered once
 * it is back, where the broker keeps them. */
#define OEMLINK_SERVICE_MQTT "oemlink.mqtt/1"
typedef struct oemlink_mqtt_subscription {
  uint32_t struct_size;
  oemlink_str host;      /* broker host name or address */
  uint32_t port;         /* 0 = 1883, or 8883 with TLS */
  uint32_t keepalive_s;  /* 0 = 30 */
  oemlink_str client_id; /* stable id for a persistent session; empty = "oemlink-<instance>" */
  oemlink_str username;  /* empty = none */
  oemlink_str password;  /* never logged */
  /* TLS: used when `ca_file` is not empty (the broker is verified against it); client
   * certificate when `cert_file` and `key_file` are given. */
  oemlink_str ca_file;
  oemlink_str cert_file;
  oemlink_str key_file;
  const oemlink_str* topics; /* filters, '+' and '#' allowed */
  size_t topic_count;
  int32_t qos; /* 0 or 1 */
} oemlink_mqtt_subscription;

/* [any-thread] One message: `topic` and `payload` are valid only during the call. Called from the
 * host's MQTT thread, one message at a time per subscription. The message is acknowledged to the
 * broker when it is received: keep what you need before returning. */
typedef void(OEMLINK_CALL* oemlink_mqtt_message_fn)(void* ctx, oemlink_str topic,
                                                    oemlink_str payload);
/* [any-thread] The subscription connected (`connected` = 1, subscribed to every topic) or lost
 * its broker (`connected` = 0, `message` says why; the host is reconnecting). */
typedef void(OEMLINK_CALL* oemlink_mqtt_status_fn)(void* ctx, int32_t connected,
                                                   oemlink_str message);

typedef struct oemlink_mqtt_service {
  uint32_t struct_size;
  /* [any-thread] Starts a subscription; returns its non-zero id, or 0 when `sub` is malformed
   * (the host logs why). Connecting happens in the background: a broker that is down now is
   * retried, and reported through `on_status`. */
  uint64_t(OEMLINK_CALL* subscribe)(const oemlink_host* host, const oemlink_mqtt_subscription* sub,
                                    oemlink_mqtt_message_fn on_message,
                                    oemlink_mqtt_status_fn on_status, void* ctx);
  /* [any-thread] Ends a subscription. When this returns no callback for it is running or will
   * run. Never call it from inside that subscription's own callbacks. Subscriptions still open at
   * destroy() are ended by the host first. */
  void(OEMLINK_CALL* unsubscribe)(const oemlink_host* host, uint64_t subscription_id);
} oemlink_mqtt_service;

/* ---------------------------------------------------------------------------------------------
 * Connections and settings
 * ------------------------------------------------------------------------------------------- */

typedef struct oemlink_conn_info {
  uint32_t struct_size;
  oemlink_str id;               /* the operator's connection id, unique in this host */
  oemlink_str vin;              /* may be empty */
  oemlink_str identifiers_json; /* JSON object of OEM-side identifiers, e.g. {"tesla_id":"123"} */
  uint64_t vehicle_token_id;    /* DIMO vehicle NFT id */
  uint64_t synthetic_token_id;  /* DIMO synthetic device NFT id */
} oemlink_conn_info;

/* One row of a driver's settings table: the host validates the driver's `settings` block in
 * the YAML against it (unknown keys, types, required keys) before create() runs, and prints it
 * in `oemlink plugins info`. */
typedef int32_t oemlink_setting_type;
enum {
  OEMLINK_SETTING_STRING = 0,
  OEMLINK_SETTING_INT = 1,
  OEMLINK_SETTING_NUMBER = 2,
  OEMLINK_SETTING_BOOL = 3,
  OEMLINK_SETTING_DURATION_MS = 4, /* YAML "250ms", "30s", "5m", "2h", "1d"; passed as integer ms */
  OEMLINK_SETTING_OBJECT = 5       /* any JSON/YAML mapping or sequence, passed through */
};
#define OEMLINK_SETTING_REQUIRED ((uint32_t)1 << 0)
#define OEMLINK_SETTING_SECRET ((uint32_t)1 << 1) /* never printed or logged by the host */

typedef struct oemlink_setting {
  uint32_t struct_size;
  const char* name;
  oemlink_setting_type type;
  uint32_t flags;
  const char* default_value; /* as YAML text, NULL when none */
  const char* description;
} oemlink_setting;

/* ---------------------------------------------------------------------------------------------
 * Optional driver extension (ABI 1.2): linking a car through the maker's OAuth consent.
 * Reached with driver->get_extension(instance, OEMLINK_EXTENSION_LINK); NULL: the driver cannot
 * link cars (its connections come from the config or the admin API with their tokens).
 *
 * The host runs the browser flow (GET /link/<instance>/start and /callback on its inbound
 * listener): it makes the `state`, binds it to the browser, makes the PKCE verifier, and creates
 * the connections. The driver only speaks to its maker:
 *   1. authorize_url  builds the maker's consent URL;
 *   2. exchange_code  trades the code the owner's browser brought back for tokens, and hands the
 *                     host the secrets each new connection will read with secret_get;
 *   3. list_vehicles  lists the cars those secrets reach.
 * The host then stores the secrets for each created connection in the same transaction as its
 * row (a car never exists without its tokens, and a failed link leaves no token behind), and
 * opens the connections as usual. A driver therefore calls no secret_put while linking: the
 * connection does not exist yet.
 * ------------------------------------------------------------------------------------------- */

#define OEMLINK_EXTENSION_LINK "oemlink.link/1"

/* oemlink_link_extension.flags */
#define OEMLINK_LINK_PKCE_S256 ((uint32_t)1 << 0) /* the maker checks a PKCE S256 challenge */

typedef struct oemlink_link_authorize {
  uint32_t struct_size;
  oemlink_str state;          /* opaque, URL-safe; send it unchanged */
  oemlink_str redirect_uri;   /* the host's callback URL; send it unchanged */
  oemlink_str code_challenge; /* base64url(SHA-256(verifier)), method S256; empty without PKCE */
  oemlink_str vehicle_id;     /* re-authentication of one car: the maker's vehicle id, else empty */
} oemlink_link_authorize;

/* What the owner's browser brought back to the callback. */
typedef struct oemlink_link_callback {
  uint32_t struct_size;
  oemlink_str code;  /* the authorization code */
  oemlink_str query; /* the callback's whole query string (maker extras: Smartcar's user_id) */
  oemlink_str redirect_uri;  /* exactly as given to authorize_url */
  oemlink_str code_verifier; /* the PKCE verifier; empty when the driver does not use PKCE */
} oemlink_link_callback;

/* [any-thread] The exchange finished. OEMLINK_OK: `keys`/`values` (`count` pairs) are the secrets
 * every connection created from this consent stores, exactly what open() reads with secret_get;
 * OEMLINK_ERROR: refused (bad or expired code: `message` says why, shown to the owner, so never a
 * token); OEMLINK_RETRY: the maker could not be reached. Called exactly once per exchange_code that
 * returned OEMLINK_OK. Everything passed is valid only during the call; the host copies it. */
typedef void(OEMLINK_CALL* oemlink_link_exchanged_fn)(void* ctx, oemlink_status status,
                                                      const oemlink_str* keys,
                                                      const oemlink_str* values, size_t count,
                                                      oemlink_str message);

typedef struct oemlink_link_vehicle {
  uint32_t struct_size;
  oemlink_str vehicle_id;       /* the maker's id for the car; required, unique per instance */
  oemlink_str vin;              /* may be empty when the maker does not give it */
  oemlink_str display_name;     /* the owner's name for the car; may be empty */
  oemlink_str identifiers_json; /* JSON object: the new connection's identifiers for open() */
  oemlink_str make;             /* for the mint's device definition; empty when unknown */
  oemlink_str model;
  uint32_t year; /* 0 when unknown */
} oemlink_link_vehicle;

/* [any-thread] The vehicle list: OEMLINK_OK with `count` vehicles (valid only during the call), or
 * OEMLINK_ERROR / OEMLINK_RETRY with `message`. Called exactly once per list_vehicles that
 * returned OEMLINK_OK. */
typedef void(OEMLINK_CALL* oemlink_link_vehicles_fn)(void* ctx, oemlink_status status,
                                                     const oemlink_link_vehicle* vehicles,
                                                     size_t count, oemlink_str message);

typedef struct oemlink_link_extension {
  uint32_t struct_size;
  uint32_t flags; /* OEMLINK_LINK_* */
  /* [any-thread] Writes the maker's authorize URL into `buf` (capacity `cap`, not
   * NUL-terminated) and sets `*size`. OEMLINK_OK: written; OEMLINK_RETRY: `cap` too small,
   * `*size` is what is needed; OEMLINK_ERROR: the instance cannot link (its settings lack a
   * client id), with the reason written into `buf` as for OK; when the reason does not fit,
   * nothing is written and `*size` > `cap` says what is needed (the host calls again). Never
   * blocks. */
  oemlink_status(OEMLINK_CALL* authorize_url)(oemlink_instance* instance,
                                              const oemlink_link_authorize* request, char* buf,
                                              size_t cap, size_t* size);
  /* [any-thread] Starts the code exchange (host->http_request with a NULL conn); OEMLINK_OK means
   * `done` will be called exactly once. */
  oemlink_status(OEMLINK_CALL* exchange_code)(oemlink_instance* instance,
                                              const oemlink_link_callback* callback,
                                              oemlink_link_exchanged_fn done, void* ctx);
  /* [any-thread] Lists the cars the given secrets (as exchange_code handed them) reach;
   * OEMLINK_OK means `done` will be called exactly once. */
  oemlink_status(OEMLINK_CALL* list_vehicles)(oemlink_instance* instance, const oemlink_str* keys,
                                              const oemlink_str* values, size_t count,
                                              oemlink_link_vehicles_fn done, void* ctx);
} oemlink_link_extension;

/* ---------------------------------------------------------------------------------------------
 * Calls into the driver
 * ------------------------------------------------------------------------------------------- */

/* [any-thread] Finishes a poll. Called exactly once per poll that returned OEMLINK_OK, possibly
 * before poll() returns. `status`: OEMLINK_OK (the round is done and its readings were emitted),
 * OEMLINK_RETRY (transient failure: the host backs off), OEMLINK_ERROR (failure with `message`).
 * Report sleep, rate limits and dead tokens with host->report_state before calling this. */
typedef void(OEMLINK_CALL* oemlink_poll_done_fn)(void* done_ctx, oemlink_status status,
                                                 oemlink_str message);

/* [any-thread] A stream ended (failed or closed by the remote side). Called at most once per
 * stream_start that returned OEMLINK_OK, and not after stream_stop returned. The host restarts
 * the stream with back-off. */
typedef void(OEMLINK_CALL* oemlink_stream_ended_fn)(void* ctx, oemlink_status status,
                                                    oemlink_str message);

/* [any-thread] Answer a webhook. Called exactly once per webhook() that returned OEMLINK_OK. */
typedef void(OEMLINK_CALL* oemlink_webhook_respond_fn)(void* ctx,
                                                       const oemlink_http_response* response);

typedef struct oemlink_driver {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved0;
  const char* name;        /* config key, e.g. "tesla"; [a-z0-9_-]+; static storage */
  const char* version;     /* the driver's own semver, e.g. "1.4.0" */
  const char* description; /* one line */
  oemlink_capabilities capabilities;
  const oemlink_setting* settings; /* the settings table; may be NULL when setting_count is 0 */
  size_t setting_count;

  /* [host-loop] Create an instance from its settings (a JSON object, already validated against
   * the settings table, defaults filled in). On failure write a message into `err` (capacity
   * `err_cap`, NUL-terminated) and return OEMLINK_ERROR; the host shows it and the driver name. */
  oemlink_status(OEMLINK_CALL* create)(const oemlink_host* host, oemlink_str settings_json,
                                       oemlink_instance** out, char* err, size_t err_cap);
  /* [host-loop] Destroy an instance. All its connections are closed first; no callback may be
   * invoked after this returns. */
  void(OEMLINK_CALL* destroy)(oemlink_instance* instance);

  /* [host-loop] Open a connection. The driver may store per-connection state in `*conn_ctx`;
   * the host passes it back on every later call for that connection. */
  oemlink_status(OEMLINK_CALL* open)(oemlink_instance* instance, oemlink_conn* conn,
                                     const oemlink_conn_info* info, void** conn_ctx, char* err,
                                     size_t err_cap);
  /* [host-loop] Close a connection: no poll or stream for it is in flight any more. */
  void(OEMLINK_CALL* close)(oemlink_instance* instance, oemlink_conn* conn, void* conn_ctx);

  /* [per-connection] Poll once. Never blocks: start the work (host->http_request, ...) and
   * return OEMLINK_OK, then call `done` exactly once. Returning anything else means the poll did
   * not start and `done` will not be called. */
  oemlink_status(OEMLINK_CALL* poll)(oemlink_instance* instance, oemlink_conn* conn, void* conn_ctx,
                                     oemlink_poll_done_fn done, void* done_ctx);

  /* [per-connection] Start a long-lived stream for `conn`, or one for the whole instance when
   * `conn` is NULL. The driver emits readings as they arrive and calls `ended` if the stream
   * dies. NULL when the driver has no OEMLINK_CAP_STREAM. */
  oemlink_status(OEMLINK_CALL* stream_start)(oemlink_instance* instance, oemlink_conn* conn,
                                             void* conn_ctx, oemlink_stream_ended_fn ended,
                                             void* ctx);
  /* [per-connection] Stop a stream. After this returns, `ended` is not called for it. */
  void(OEMLINK_CALL* stream_stop)(oemlink_instance* instance, oemlink_conn* conn, void* conn_ctx);

  /* [any-thread] Handle an inbound webhook delivery routed to this instance (the host's listener
   * routes POST /webhooks/<instance name> here, ABI 1.1). `request->url` is the path and query,
   * headers are as received, `body` is the raw body (already within the listener's size limit).
   * The driver verifies it, emits readings, then answers through `respond` exactly once.
   * Durability is the host's: a 2xx answer is held until every event this instance emitted before
   * `respond` was called is durable in the outbox; if that takes longer than the listener's
   * durability timeout, the sender gets 503 instead, so it retries. A driver therefore emits first
   * and answers after; when emit() returns OEMLINK_RETRY (back-pressure) it answers 503 itself.
   * Returning anything but OEMLINK_OK means `respond` will not be called (the host answers 500).
   * NULL without OEMLINK_CAP_WEBHOOK. */
  oemlink_status(OEMLINK_CALL* webhook)(oemlink_instance* instance,
                                        const oemlink_http_request* request,
                                        oemlink_webhook_respond_fn respond, void* ctx);

  /* [any-thread] Optional driver interfaces by id, e.g. "oemlink.link/1" for onboarding.
   * NULL if absent; the returned pointer is valid until the library is unloaded. */
  const void*(OEMLINK_CALL* get_extension)(oemlink_instance* instance, const char* id);
} oemlink_driver;

/* The one exported symbol. The host passes its ABI version; the driver returns its descriptor
 * (static storage, valid while the library is loaded). Return it whatever the host's version:
 * the host compares ABI majors itself and names both in its error. NULL is still understood
 * (the host refuses the library with "returned NULL for host ABI x.y") but tells the operator
 * less; keep it for a driver that cannot run in this process at all. */
#define OEMLINK_DRIVER_ENTRY_SYMBOL "oemlink_driver_entry"
typedef const oemlink_driver*(OEMLINK_CALL* oemlink_driver_entry_fn)(uint32_t host_abi_major,
                                                                     uint32_t host_abi_minor);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OEMLINK_DRIVER_H */
