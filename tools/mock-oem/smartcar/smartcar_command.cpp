// oemlink-mock-oem smartcar: the mock Smartcar API server (options in ../README.md).
#include "tools/mock-oem/common/mock_http_server.hpp"
#include "tools/mock-oem/mock_commands.hpp"
#include "tools/mock-oem/smartcar/cli_args.hpp"
#include "tools/mock-oem/smartcar/smartcar_service.hpp"

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace oemlink::mock_oem {

namespace {

constexpr const char* kUsage = R"(usage: oemlink-mock-oem smartcar [options]
  --port N                    listen port (0: any; printed as "listening <port>")   [0]
  --host ADDR                 listen address                                         [127.0.0.1]
  --threads N                 server threads                                         [2]
  --client-id ID              OAuth client id (HTTP Basic on /oauth/token)          [mock-client-id]
  --client-secret S           OAuth client secret                                    [mock-client-secret]
  --accept-refresh-token T    seed a valid refresh token (repeatable)
  --accept-access-token T     seed a valid access token (repeatable)
  --accept-auth-code C        seed a valid authorization code, single use (repeatable)
  --refresh-grace-ms N        a used refresh token dies this long after first use    [60000]
  --access-ttl-s N            access token lifetime (expires_in)                     [7200]
  --refresh-ttl-s N           refresh token lifetime                                 [5184000]
  --auth-code-ttl-s N         lifetime of a Connect authorization code               [600]
  --vehicles FILE             cars and signals (JSON; format in tools/mock-oem/README.md)
  --page-size N               v3 signals per page                                    [50]
  --time-format s|ms|iso      v3 signal meta times: epoch s, epoch ms, ISO-8601      [s]
  --static-values             values and times do not move (as of the start)
  --bucket N|off              app-wide request bucket capacity                       [120]
  --bucket-refill-per-min R   bucket refill rate                                     [2]
  --monthly-quota N           billed reads per vehicle before 430 BILLING            [unlimited]
  --latency-ms N              added to every answer                                  [0]
  --inject RULE               fault rule, key=value,... (keys as POST /mock/inject; repeatable)
  --public-url URL            base of links.self/next                                [http://<Host>]
  --webhook-amt KEY           enable POST /mock/webhook-sink, checking SC-Signature with KEY
)";

struct Parsed {
  smartcar::ServiceOptions service;
  MockHttpServerOptions server;
  std::string vehicles_file;
  bool frozen = false;
  smartcar::TimeFormat time_format = smartcar::TimeFormat::seconds;
};

Parsed parse(int argc, char** argv) {
  Parsed p;
  p.server.server_name = "oemlink-mock-smartcar";
  smartcar::CliArgs args(argc, argv);
  while (!args.done()) {
    const std::string name = args.next();
    if (name == "--port")
      p.server.port = static_cast<uint16_t>(args.integer(0, 65535));
    else if (name == "--host")
      p.server.host = args.value();
    else if (name == "--threads")
      p.server.threads = static_cast<int>(args.integer(1, 64));
    else if (name == "--client-id")
      p.service.client_id = args.value();
    else if (name == "--client-secret")
      p.service.client_secret = args.value();
    else if (name == "--accept-refresh-token")
      p.service.refresh_tokens.push_back(args.value());
    else if (name == "--accept-access-token")
      p.service.access_tokens.push_back(args.value());
    else if (name == "--accept-auth-code")
      p.service.auth_codes.push_back(args.value());
    else if (name == "--auth-code-ttl-s")
      p.service.tokens.auth_code_ttl = std::chrono::seconds(args.integer(0, 1LL << 31));
    else if (name == "--refresh-grace-ms")
      p.service.tokens.refresh_grace = std::chrono::milliseconds(args.integer(0, 1LL << 40));
    else if (name == "--access-ttl-s")
      p.service.tokens.access_ttl = std::chrono::seconds(args.integer(1, 1LL << 32));
    else if (name == "--refresh-ttl-s")
      p.service.tokens.refresh_ttl = std::chrono::seconds(args.integer(1, 1LL << 32));
    else if (name == "--vehicles")
      p.vehicles_file = args.value();
    else if (name == "--page-size")
      p.service.page_size = static_cast<int>(args.integer(1, 1000));
    else if (name == "--time-format") {
      const std::string f = args.value();
      if (f == "s")
        p.time_format = smartcar::TimeFormat::seconds;
      else if (f == "ms")
        p.time_format = smartcar::TimeFormat::milliseconds;
      else if (f == "iso")
        p.time_format = smartcar::TimeFormat::iso;
      else
        throw std::invalid_argument("--time-format must be s, ms or iso, got \"" + f + "\"");
    } else if (name == "--static-values")
      p.frozen = true;
    else if (name == "--bucket") {
      const std::string v = args.value();
      if (v == "off")
        p.service.bucket_capacity = 0;
      else {
        try {
          size_t used = 0;
          p.service.bucket_capacity = std::stod(v, &used);
          if (used != v.size() || p.service.bucket_capacity < 1) throw std::invalid_argument(v);
        } catch (const std::exception&) {
          throw std::invalid_argument("--bucket must be a capacity >= 1 or off, got \"" + v + "\"");
        }
      }
    } else if (name == "--bucket-refill-per-min")
      p.service.bucket_refill_per_minute = args.number(0, 1e9);
    else if (name == "--monthly-quota")
      p.service.monthly_quota = args.integer(0, 1LL << 40);
    else if (name == "--latency-ms")
      p.service.latency = std::chrono::milliseconds(args.integer(0, 3'600'000));
    else if (name == "--inject")
      p.service.faults.push_back(smartcar::parse_fault_rule(args.value()));
    else if (name == "--public-url")
      p.service.public_url = args.value();
    else if (name == "--webhook-amt")
      p.service.sink_amt = args.value();
    else
      args.unknown();
  }
  while (!p.service.public_url.empty() && p.service.public_url.back() == '/')
    p.service.public_url.pop_back();
  return p;
}

}  // namespace

int run_smartcar(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  Parsed p;
  smartcar::Fleet fleet;
  try {
    p = parse(argc, argv);
    fleet = p.vehicles_file.empty() ? smartcar::Fleet::defaults()
                                    : smartcar::Fleet::load_file(p.vehicles_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-mock-oem smartcar: %s\n", e.what());
    return 2;
  }
  fleet.set_clocks({std::chrono::system_clock::now(), p.frozen, p.time_format});
  smartcar::SmartcarService service(std::move(p.service), std::move(fleet));
  try {
    MockHttpServer server(p.server, [&service](const Request& r) { return service.handle(r); });
    boost::asio::signal_set signals(server.io(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int) {
      if (!ec) server.stop();
    });
    std::printf("listening %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-mock-oem smartcar: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace oemlink::mock_oem
