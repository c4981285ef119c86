// `oemlink connections list|show|add|pause|resume|set-tokens|revoke|poll`: the running daemon's
// connections through its admin API (listeners.admin; core/admin/README.md). Output for people
// by default, the API's JSON with --json.
#include "core/admin/request_target.hpp"
#include "core/cli/admin_client.hpp"
#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>

namespace oemlink::cli {
namespace {

namespace json = boost::json;

constexpr const char* kConnectionsDetails =
    R"(Talks to the running daemon's admin API (listeners.admin of the configuration: address, port,
token; over TLS the daemon's certificate file is trusted, or --ca; with client certificates,
--cert and --key). Every change takes effect live, without a restart.
  list        connections by id, a page at a time (--after the last id shown), or --all
  show        one connection: ids, state, key child, device address, token ids, mint request
  add         a connection for a car of a configured driver; its key child is fresh
  pause       stop polling and streaming (what is in flight is delivered); resume undoes it
  resume      back to active from paused or needs_reauth
  set-tokens  record the vehicle and synthetic-device token ids once minted
  revoke      FINAL, asks nothing: stops the car, wipes its tokens, retires its key child
  poll        poll now, as soon as the driver's limits allow
Exit status: 0 done, 1 failure (the daemon's message, or daemon not reachable), 2 usage error.)";

struct ConnectionsOptions {
  std::string config, ca, cert, key;
  bool json = false;
  std::string id, reason, state, after;
  std::optional<uint64_t> limit, vehicle, synthetic;
  bool all = false;
  std::string driver, vin, vehicle_id, display_name;
  std::vector<std::string> identifiers;
};

// One path segment; "counts" is the counts route, and its encoded form still names the
// connection.
std::string quoted_id(const std::string& id) {
  std::string out = admin::percent_encode(id);
  return out == "counts" ? "%63ounts" : out;
}

// The daemon's answer as JSON; a failure (non-2xx) throws with the daemon's message.
json::value checked(const AdminAnswer& a) {
  boost::system::error_code ec;
  json::value v = json::parse(a.body, ec);
  if (a.status < 200 || a.status > 299) {
    std::string message = "HTTP " + std::to_string(a.status);
    if (!ec && v.is_object())
      if (const json::value* e = v.as_object().if_contains("error"); e && e->is_string())
        message = std::string(e->as_string()) + " (" + message + ")";
    throw std::runtime_error(message);
  }
  if (ec) throw std::runtime_error("the daemon's answer is not JSON: " + ec.message());
  return v;
}

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

std::string field(const json::value& view, std::string_view key) {
  const json::value* v = view.is_object() ? view.as_object().if_contains(key) : nullptr;
  return v ? text(*v) : "";
}

// A token id, "-" while not minted.
std::string token_field(const json::value& view, std::string_view key) {
  std::string t = field(view, key);
  return t.empty() || t == "0" ? "-" : t;
}

std::string utc(const json::value& view, std::string_view key) {
  const json::value* v = view.as_object().if_contains(key);
  if (!v || !v->is_number() || v->to_number<int64_t>() <= 0) return "-";
  const time_t t = static_cast<time_t>(v->to_number<int64_t>() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_json(const json::value& v) {
  std::printf("%s\n", json::serialize(v).c_str());
}

void print_view(const json::value& v) {
  const std::pair<const char*, std::string> rows[] = {
      {"id", field(v, "id")},
      {"driver", field(v, "driver")},
      {"vin", field(v, "vin")},
      {"vehicle_id", field(v, "vehicle_id")},
      {"display_name", field(v, "display_name")},
      {"identifiers", field(v, "identifiers")},
      {"state", field(v, "state")},
      {"reason", field(v, "reason")},
      {"changed", utc(v, "changed_ms")},
      {"created", utc(v, "created_ms")},
      {"source", field(v, "source")},
      {"phase", field(v, "phase")},
      {"key_child", field(v, "key_child")},
      {"device_address", field(v, "device_address")},
      {"vehicle_token_id", token_field(v, "vehicle_token_id")},
      {"synthetic_token_id", token_field(v, "synthetic_token_id")},
  };
  for (const auto& [k, value] : rows)
    std::printf("%-19s %s\n", (std::string(k) + ":").c_str(), value.c_str());
  if (v.as_object().contains("mint")) {
    std::string mint = field(v, "mint");
    std::printf("%-19s %s\n", "mint:", mint.empty() ? "none" : mint.c_str());
  }
}

struct Session {
  explicit Session(const ConnectionsOptions& o)
      : client(admin_endpoint(load_config_or_default(o.config), o.ca, o.cert, o.key)) {}
  AdminClient client;
};

int list(const ConnectionsOptions& o) {
  Session s(o);
  json::array all;
  json::value last;
  std::string after = o.after;
  for (;;) {
    std::string path =
        "/admin/connections?limit=" + std::to_string(o.limit.value_or(o.all ? 1000 : 100));
    if (!after.empty()) path += "&after=" + quoted_id(after);
    if (!o.state.empty()) path += "&state=" + quoted_id(o.state);
    last = checked(s.client.get(path));
    for (auto& c : last.at("connections").as_array()) all.push_back(c);
    const json::value& next = last.at("next_after");
    if (!o.all || !next.is_string()) break;
    after = std::string(next.as_string());
  }
  if (o.json) {
    json::object out{
        {"connections", all}, {"next_after", last.at("next_after")}, {"total", last.at("total")}};
    print_json(out);
    return kExitOk;
  }
  std::printf("%-24s %-12s %-17s %-12s %-9s %-10s %-10s %s\n", "ID", "DRIVER", "VIN", "STATE",
              "PHASE", "VEHICLE", "SYNTHETIC", "DEVICE ADDRESS");
  for (const auto& c : all)
    std::printf("%-24s %-12s %-17s %-12s %-9s %-10s %-10s %s\n", field(c, "id").c_str(),
                field(c, "driver").c_str(), field(c, "vin").c_str(), field(c, "state").c_str(),
                field(c, "phase").c_str(), token_field(c, "vehicle_token_id").c_str(),
                token_field(c, "synthetic_token_id").c_str(), field(c, "device_address").c_str());
  std::printf("%zu of %s connections", all.size(), text(last.at("total")).c_str());
  if (last.at("next_after").is_string())
    std::printf("; next page: --after %s (or --all)", text(last.at("next_after")).c_str());
  std::printf("\n");
  return kExitOk;
}

int show(const ConnectionsOptions& o) {
  Session s(o);
  json::value v = checked(s.client.get("/admin/connections/" + quoted_id(o.id)));
  if (o.json)
    print_json(v);
  else
    print_view(v);
  return kExitOk;
}

// An action on one connection: POST, then the connection as it is now.
int act(const ConnectionsOptions& o, const std::string& verb, const json::object& body) {
  Session s(o);
  json::value v = checked(
      s.client.post("/admin/connections/" + quoted_id(o.id) + "/" + verb, json::serialize(body)));
  if (o.json) {
    print_json(v);
    return kExitOk;
  }
  if (verb == "revoke") {
    std::printf("%s: revoked for good; its tokens are wiped and key child %s is retired\n",
                o.id.c_str(), field(v, "key_child").c_str());
  } else if (verb == "tokens") {
    std::printf("%s: vehicle token %s, synthetic device token %s\n", o.id.c_str(),
                token_field(v, "vehicle_token_id").c_str(),
                token_field(v, "synthetic_token_id").c_str());
  } else if (verb == "poll") {
    std::printf("%s: poll requested (state %s, phase %s)\n", o.id.c_str(),
                field(v, "state").c_str(), field(v, "phase").c_str());
  } else {
    std::string reason = field(v, "reason");
    std::printf("%s: %s%s\n", o.id.c_str(), field(v, "state").c_str(),
                reason.empty() ? "" : (" (" + reason + ")").c_str());
  }
  return kExitOk;
}

int add(const ConnectionsOptions& o) {
  json::object c{{"driver", o.driver}, {"vin", o.vin}};
  if (!o.id.empty()) c["id"] = o.id;
  if (!o.vehicle_id.empty()) c["vehicle_id"] = o.vehicle_id;
  if (!o.display_name.empty()) c["display_name"] = o.display_name;
  json::object ids;
  for (const std::string& kv : o.identifiers) {
    const size_t eq = kv.find('=');
    ids[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  c["identifiers"] = std::move(ids);
  Session s(o);
  json::value v = checked(s.client.post(
      "/admin/connections", json::serialize(json::object{{"connections", json::array{c}}})));
  if (o.json) print_json(v);
  const json::array& refused = v.at("refused").as_array();
  if (!o.json) {
    for (const auto& created : v.at("created").as_array())
      std::printf("created %s (key child %s, device %s)\n", field(created, "id").c_str(),
                  field(created, "key_child").c_str(), field(created, "device_address").c_str());
  }
  for (const auto& r : refused)
    std::fprintf(stderr, "oemlink connections add: refused: %s\n", field(r, "reason").c_str());
  return refused.empty() ? kExitOk : kExitFailure;
}

std::string key_value(const std::string& kv) {
  const size_t eq = kv.find('=');
  return eq == std::string::npos || eq == 0 ? "must be NAME=VALUE" : "";
}

// What every verb takes: the config, --json and the TLS files.
void add_common(CLI::App& cmd, ConnectionsOptions& o) {
  add_config_option(cmd, o.config, "the configuration whose listeners.admin to reach");
  cmd.add_flag("--json", o.json, "print the API's JSON answer");
  cmd.add_option("--ca", o.ca, "CA of the daemon's certificate (default: its tls.cert_file)")
      ->type_name("FILE");
  cmd.add_option("--cert", o.cert, "client certificate (PEM), for tls.client_ca_file")
      ->type_name("FILE");
  cmd.add_option("--key", o.key, "the client certificate's key (PEM)")->type_name("FILE");
}

CLI::App* verb(CommandLine& cli, CLI::App& group, const std::string& name,
               const std::string& summary, std::shared_ptr<ConnectionsOptions>& o, bool takes_id) {
  o = std::make_shared<ConnectionsOptions>();
  CLI::App* cmd = cli.add_command(group, name, summary);
  if (takes_id) cmd->add_option("ID", o->id, "the connection's id")->required()->check(not_empty);
  return cmd;
}

}  // namespace

void add_connections_commands(CommandLine& cli) {
  CLI::App* group = cli.add_group("connections", "the running daemon's connections (admin API)",
                                  kConnectionsDetails);
  std::shared_ptr<ConnectionsOptions> o;

  CLI::App* cmd = verb(cli, *group, "list", "connections by id, a page at a time", o, false);
  cmd->add_option("--state", o->state,
                  "only this state: linking, active, paused, needs_reauth, revoked")
      ->type_name("S")
      ->check(CLI::IsMember({"linking", "active", "paused", "needs_reauth", "revoked"}));
  cmd->add_option_function<uint64_t>(
         "--limit", [p = o.get()](const uint64_t& n) { p->limit = n; },
         "at most N per page (1-1000, default 100)")
      ->type_name("N")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--after", o->after, "start after this id (the last one shown)")->type_name("ID");
  cmd->add_flag("--all", o->all, "every page");
  add_common(*cmd, *o);
  cli.on(cmd, [o] { return list(*o); });

  cmd = verb(cli, *group, "show", "one connection, with its mint request", o, true);
  add_common(*cmd, *o);
  cli.on(cmd, [o] { return show(*o); });

  cmd = verb(cli, *group, "add", "a connection for a car of a configured driver", o, false);
  cmd->add_option("--driver", o->driver, "the driver instance")
      ->required()
      ->type_name("D")
      ->check(not_empty);
  cmd->add_option("--vin", o->vin, "the car's VIN")->required()->type_name("V");
  cmd->add_option("--vehicle-id", o->vehicle_id, "the maker's id for the car")->type_name("X");
  cmd->add_option("--identifier", o->identifiers,
                  "a driver identifier, e.g. tesla_id=123 (repeatable)")
      ->type_name("K=V")
      ->check(key_value);
  cmd->add_option("--id", o->id, "the connection id (default: generated)")->type_name("ID");
  add_common(*cmd, *o);
  cli.on(cmd, [o] { return add(*o); });

  cmd = verb(cli, *group, "pause", "stop polling and streaming until resumed", o, true);
  cmd->add_option("--reason", o->reason, "why, kept with the state")->type_name("R");
  add_common(*cmd, *o);
  cli.on(cmd, [o] {
    json::object body;
    if (!o->reason.empty()) body["reason"] = o->reason;
    return act(*o, "pause", body);
  });

  cmd = verb(cli, *group, "resume", "active again, from paused or needs_reauth", o, true);
  add_common(*cmd, *o);
  cli.on(cmd, [o] { return act(*o, "resume", {}); });

  cmd = verb(cli, *group, "set-tokens", "record the minted token ids", o, true);
  cmd->add_option_function<uint64_t>(
         "--vehicle", [p = o.get()](const uint64_t& n) { p->vehicle = n; },
         "the vehicle NFT's token id")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option_function<uint64_t>(
         "--synthetic", [p = o.get()](const uint64_t& n) { p->synthetic = n; },
         "the synthetic device's token id")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  add_common(*cmd, *o);
  cli.on(cmd, [o] {
    if (!o->vehicle && !o->synthetic) {
      std::fprintf(stderr, "oemlink connections set-tokens: give --vehicle, --synthetic or both\n");
      return static_cast<int>(kExitUsage);
    }
    json::object body;
    if (o->vehicle) body["vehicle_token_id"] = *o->vehicle;
    if (o->synthetic) body["synthetic_token_id"] = *o->synthetic;
    return act(*o, "tokens", body);
  });

  cmd =
      verb(cli, *group, "revoke", "FINAL: stop the car, wipe its tokens, retire its key", o, true);
  cmd->add_option("--reason", o->reason, "why, kept with the state")->type_name("R");
  add_common(*cmd, *o);
  cli.on(cmd, [o] {
    json::object body;
    if (!o->reason.empty()) body["reason"] = o->reason;
    return act(*o, "revoke", body);
  });

  cmd = verb(cli, *group, "poll", "poll now, as the driver's limits allow", o, true);
  add_common(*cmd, *o);
  cli.on(cmd, [o] { return act(*o, "poll", {}); });
}

}  // namespace oemlink::cli
