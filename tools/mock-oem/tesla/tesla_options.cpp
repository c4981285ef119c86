#include "tools/mock-oem/tesla/tesla_options.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace oemlink::mock_oem::tesla {
namespace {

constexpr const char* kUsage = R"(usage: oemlink-mock-oem tesla --port 0 --captures DIR [options]

A mock Tesla Fleet API (and, with --mqtt, a Fleet Telemetry MQTT publisher) that behaves as
shared/spec/oem-apis.md documents. Prints "listening <port>" first; serves until SIGINT/SIGTERM.
Region hosts are path prefixes: http://HOST:PORT/na, /eu, /cn (no prefix = na).
Control API: /mock/... and GET /stats (see tools/mock-oem/README.md).

Server:
  --host ADDR                 bind address (default 127.0.0.1)
  --port N                    port, 0 = any free one (default 0)
  --threads N                 worker threads (default 2)
  --public-base URL           scheme://host:port the mock names itself by (default: from Host)
Cars:
  --captures DIR              DIR/<VIN>.json vehicle_data captures (required)
  --synthesize N              serve N cars made round-robin from the captures
                              (VIN 5YJ3SYNTH + n in 8 digits, id 100000000000 + n)
  --state CAR=STATE           online|asleep|offline for a car (VIN or id); repeatable
  --default-state STATE       state of every other car (default online)
  --wake-delay-ms N           an asleep car comes online N ms after wake_up (default 10000)
  --vehicles-per-page N       default page size of GET /api/1/vehicles (default 100)
Tokens and accounts (account "default" owns every car unless --account-vins says otherwise):
  --client-id ID              OAuth client id (default mock-client-id)
  --client-secret S           OAuth client secret (default mock-client-secret)
  --accept-refresh-token T[@ACCOUNT]   a seeded refresh token; repeatable
  --accept-auth-code C[@ACCOUNT]       a one-time authorization code; repeatable
  --access-token-lifetime S   expires_in of access tokens, seconds (default 28800)
  --auth-code-lifetime S      life of an authorization code from the consent page, seconds
                              (default 600)
  --refresh-token-lifetime S  refresh token life, seconds (default 7776000 = 90 days)
  --scopes A,B,...            scopes of user tokens (default openid,offline_access,user_data,
                              vehicle_device_data,vehicle_cmds,vehicle_charging_cmds; add
                              vehicle_location for location)
  --account-scopes ACCOUNT=A,B,...     scopes for one account
  --region R                  region of the default account: na|eu|cn (default na)
  --account-region ACCOUNT=R  region of one account
  --account-vins ACCOUNT=V1,V2,...     the cars an account owns (VINs or ids)
  --partner-scopes A,B,...    scopes of partner tokens without `scope` (default openid,
                              vehicle_device_data,vehicle_cmds,vehicle_charging_cmds)
  --registered-regions R,...  regions the partner account is registered in (default na,eu,cn)
  --partner-public-key FILE   PEM P-256 public key; telemetry JWS must be signed by it
Fleet telemetry configs:
  --missing-key CAR           no virtual key: skipped as missing_key, key_paired false
  --unsupported-hardware CAR  skipped as unsupported_hardware
  --unsupported-firmware CAR  skipped as unsupported_firmware (also any firmware < 2024.26)
  --max-configs CAR           skipped as max_configs, limit_reached true
  --config-lost CAR           counted as updated, yet config stays null (too many apps)
  --drop-config CAR[=MS]      a posted config vanishes MS ms later (consent revoked; default 0)
  --config-sync-ms N          synced turns true N ms after the post, car online (default 0)
  --firmware CAR=VERSION      firmware_version of a car
  --default-firmware VERSION  firmware_version of the others (default 2025.20.6)
  --telemetry-error CAR=NAME:TEXT      an entry of fleet_telemetry_errors; repeatable
Faults and billing:
  --inject SPEC               key=value,... with keys vin (or id), account, path, status,
                              retry_after, window, count, latency_ms, drop, body; repeatable
  --latency-ms N              added to every API answer (default 0)
  --latency-jitter-ms N       plus uniform 0..N ms (default 0)
  --rate-limit-limit N        RateLimit-Limit header of 429s (default 200)
  --free-account-calls        do not bill the vehicle list, users/region and fleet_status
Fleet Telemetry over MQTT:
  --mqtt HOST:PORT            publish records as fleet-telemetry's MQTT dispatcher does
  --topic-base B              topic base (default telemetry)
  --mqtt-client-id ID         (default oemlink-mock-tesla)
  --mqtt-username U / --mqtt-password P
  --mqtt-qos 0|1|2            (default 0, as fleet-telemetry)   --mqtt-retain
  --mqtt-interval-ms N        real time between simulation ticks (default 1000)
  --time-scale X              simulated seconds per real second (default 1; 1440 = a day/min)
  --sim-start HH:MM           the simulated clock starts at this UTC time of day today
  --stream-only-configured    only cars with a posted telemetry config stream
  --help                      this text
)";

int to_int(std::string_view option, std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw std::invalid_argument(std::string(option) + ": expected an integer in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                std::string(text) + "'");
  return value;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t at = text.find(sep);
    if (at != 0) out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::pair<std::string, std::string> key_value(std::string_view option, std::string_view text,
                                              char sep = '=') {
  const size_t at = text.find(sep);
  if (at == std::string_view::npos || at == 0)
    throw std::invalid_argument(std::string(option) + ": expected KEY" + sep + "VALUE, got '" +
                                std::string(text) + "'");
  return {std::string(text.substr(0, at)), std::string(text.substr(at + 1))};
}

std::pair<std::string, std::string> with_account(std::string_view text) {
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos) return {std::string(text), "default"};
  return {std::string(text.substr(0, at)), std::string(text.substr(at + 1))};
}

void check_region(std::string_view option, const std::string& region) {
  if (region != "na" && region != "eu" && region != "cn")
    throw std::invalid_argument(std::string(option) + ": region must be na, eu or cn, not '" +
                                region + "'");
}

std::string read_public_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw std::invalid_argument("--partner-public-key " + path + ": cannot be opened");
  EVP_PKEY* key = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key) throw std::invalid_argument("--partner-public-key " + path + ": not a PEM public key");
  unsigned char buf[65];
  size_t len = 0;
  const int ok = EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", buf, sizeof buf, &len);
  char curve[64] = {};
  size_t curve_len = 0;
  const int named = EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &curve_len);
  EVP_PKEY_free(key);
  if (ok != 1 || named != 1 || std::string_view(curve) != "prime256v1" || len != 65 ||
      buf[0] != 0x04)
    throw std::invalid_argument("--partner-public-key " + path +
                                ": not an uncompressed P-256 public key");
  return std::string(reinterpret_cast<char*>(buf), len);
}

}  // namespace

const char* tesla_usage() {
  return kUsage;
}

ParseOutcome parse_tesla_options(int argc, char** argv, TeslaOptions& o) {
  o.tokens.client_id = "mock-client-id";
  o.tokens.client_secret = "mock-client-secret";
  o.tokens.partner_scopes = {"openid", "vehicle_device_data", "vehicle_cmds",
                             "vehicle_charging_cmds"};
  std::vector<std::string> default_scopes{"openid",       "offline_access",
                                          "user_data",    "vehicle_device_data",
                                          "vehicle_cmds", "vehicle_charging_cmds"};
  std::string default_region = "na";
  std::map<std::string, std::vector<std::string>> account_scopes;
  std::map<std::string, std::string> account_regions;
  std::set<std::string> account_names{"default"};

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_inline = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) throw std::invalid_argument(arg + ": needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") return ParseOutcome::kHelp;
    if (arg == "--host") {
      o.host = next();
    } else if (arg == "--port") {
      o.port = static_cast<uint16_t>(to_int(arg, next(), 0, 65535));
    } else if (arg == "--threads") {
      o.threads = to_int(arg, next(), 1, 64);
    } else if (arg == "--public-base") {
      o.public_base = next();
      while (o.public_base.ends_with('/')) o.public_base.pop_back();
    } else if (arg == "--captures") {
      o.captures = next();
    } else if (arg == "--synthesize") {
      o.synthesize = to_int(arg, next(), 1, 10'000'000);
    } else if (arg == "--state") {
      auto [car, state] = key_value(arg, next());
      o.fleet.initial_states[car] = state;
    } else if (arg == "--default-state") {
      o.fleet.default_state = next();
    } else if (arg == "--wake-delay-ms") {
      o.fleet.wake_delay = std::chrono::milliseconds(to_int(arg, next(), 0, 86'400'000));
    } else if (arg == "--vehicles-per-page") {
      o.vehicles_per_page = to_int(arg, next(), 1, 10'000);
    } else if (arg == "--client-id") {
      o.tokens.client_id = next();
    } else if (arg == "--client-secret") {
      o.tokens.client_secret = next();
    } else if (arg == "--accept-refresh-token") {
      auto [token, account] = with_account(next());
      if (token.empty()) throw std::invalid_argument(arg + ": empty token");
      o.refresh_tokens.emplace_back(token, account);
      account_names.insert(account);
    } else if (arg == "--accept-auth-code") {
      auto [code, account] = with_account(next());
      if (code.empty()) throw std::invalid_argument(arg + ": empty code");
      o.auth_codes.emplace_back(code, account);
      account_names.insert(account);
    } else if (arg == "--access-token-lifetime") {
      o.tokens.access_lifetime = std::chrono::seconds(to_int(arg, next(), 1, 365 * 86400));
    } else if (arg == "--auth-code-lifetime") {
      o.tokens.auth_code_lifetime = std::chrono::seconds(to_int(arg, next(), 1, 86400));
    } else if (arg == "--refresh-token-lifetime") {
      o.tokens.refresh_lifetime = std::chrono::seconds(to_int(arg, next(), 1, 3650 * 86400));
    } else if (arg == "--scopes") {
      default_scopes = split(next(), ',');
    } else if (arg == "--account-scopes") {
      auto [account, scopes] = key_value(arg, next());
      account_scopes[account] = split(scopes, ',');
      account_names.insert(account);
    } else if (arg == "--region") {
      default_region = next();
      check_region(arg, default_region);
    } else if (arg == "--account-region") {
      auto [account, region] = key_value(arg, next());
      check_region(arg, region);
      account_regions[account] = region;
      account_names.insert(account);
    } else if (arg == "--account-vins") {
      auto [account, vins] = key_value(arg, next());
      for (auto& v : split(vins, ',')) o.fleet.account_vins[account].insert(v);
      account_names.insert(account);
    } else if (arg == "--partner-scopes") {
      o.tokens.partner_scopes = split(next(), ',');
    } else if (arg == "--registered-regions") {
      o.registered_regions.clear();
      for (auto& r : split(next(), ',')) {
        check_region(arg, r);
        o.registered_regions.insert(r);
      }
    } else if (arg == "--partner-public-key") {
      o.partner_public_key = read_public_key(next());
    } else if (arg == "--missing-key") {
      o.fleet.missing_key.insert(next());
    } else if (arg == "--unsupported-hardware") {
      o.fleet.unsupported_hardware.insert(next());
    } else if (arg == "--unsupported-firmware") {
      o.fleet.unsupported_firmware.insert(next());
    } else if (arg == "--max-configs") {
      o.fleet.max_configs.insert(next());
    } else if (arg == "--config-lost") {
      o.fleet.config_lost.insert(next());
    } else if (arg == "--drop-config") {
      const std::string v = next();
      const size_t eq = v.find('=');
      const int ms = eq == std::string::npos ? 0 : to_int(arg, v.substr(eq + 1), 0, 1'000'000'000);
      o.fleet.drop_config_after[v.substr(0, eq)] = std::chrono::milliseconds(ms);
    } else if (arg == "--config-sync-ms") {
      o.fleet.config_sync_delay = std::chrono::milliseconds(to_int(arg, next(), 0, 86'400'000));
    } else if (arg == "--firmware") {
      auto [car, version] = key_value(arg, next());
      o.fleet.firmware[car] = version;
    } else if (arg == "--default-firmware") {
      o.fleet.default_firmware = next();
    } else if (arg == "--telemetry-error") {
      auto [car, rest] = key_value(arg, next());
      auto [name, text] = key_value(arg, rest, ':');
      o.telemetry_errors.push_back({car, name, text});
    } else if (arg == "--inject") {
      try {
        o.injections.push_back(parse_injection_rule(next()));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("--inject: " + std::string(e.what()));
      }
    } else if (arg == "--latency-ms") {
      o.latency_ms = to_int(arg, next(), 0, 600'000);
    } else if (arg == "--latency-jitter-ms") {
      o.latency_jitter_ms = to_int(arg, next(), 0, 600'000);
    } else if (arg == "--rate-limit-limit") {
      o.rate_limit_limit = to_int(arg, next(), 1, 1'000'000);
    } else if (arg == "--free-account-calls") {
      o.bill_account_calls = false;
    } else if (arg == "--mqtt") {
      auto [host, port] = key_value(arg, next(), ':');
      o.mqtt.host = host;
      o.mqtt.port = to_int(arg, port, 1, 65535);
    } else if (arg == "--topic-base") {
      o.mqtt.topic_base = next();
    } else if (arg == "--mqtt-client-id") {
      o.mqtt.client_id = next();
    } else if (arg == "--mqtt-username") {
      o.mqtt.username = next();
    } else if (arg == "--mqtt-password") {
      o.mqtt.password = next();
    } else if (arg == "--mqtt-qos") {
      o.mqtt.qos = to_int(arg, next(), 0, 2);
    } else if (arg == "--mqtt-retain") {
      o.mqtt.retain = true;
    } else if (arg == "--mqtt-interval-ms") {
      o.mqtt.interval = std::chrono::milliseconds(to_int(arg, next(), 1, 3'600'000));
    } else if (arg == "--time-scale") {
      const std::string v = next();
      try {
        size_t used = 0;
        o.mqtt.time_scale = std::stod(v, &used);
        if (used != v.size() || !(o.mqtt.time_scale > 0)) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw std::invalid_argument("--time-scale: expected a positive number, got '" + v + "'");
      }
    } else if (arg == "--sim-start") {
      auto [hh, mm] = key_value(arg, next(), ':');
      o.mqtt.start_minute_of_day = to_int(arg, hh, 0, 23) * 60 + to_int(arg, mm, 0, 59);
    } else if (arg == "--stream-only-configured") {
      o.mqtt.only_configured = true;
    } else {
      throw std::invalid_argument("unknown option '" + arg + "' (see --help)");
    }
  }
  if (o.captures.empty()) throw std::invalid_argument("--captures DIR is required");
  for (const auto& name : account_names) {
    AccountProfile p;
    p.region = account_regions.count(name) ? account_regions[name] : default_region;
    p.scopes = account_scopes.count(name) ? account_scopes[name] : default_scopes;
    o.accounts[name] = std::move(p);
  }
  return ParseOutcome::kRun;
}

}  // namespace oemlink::mock_oem::tesla
