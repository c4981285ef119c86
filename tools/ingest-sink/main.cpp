// oemlink-ingest-sink: a local stand-in for DIMO's ingest node (DIS) for development runs, tests
// and benchmarks. Flags, rules and counters: tools/ingest-sink/README.md.
#include "tools/ingest-sink/event_store.hpp"
#include "tools/ingest-sink/fault_injector.hpp"
#include "tools/ingest-sink/ingest_service.hpp"
#include "tools/ingest-sink/request_validator.hpp"
#include "tools/ingest-sink/tls_server.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using namespace oemlink::ingest_sink;

constexpr const char* kUsage =
    R"(usage: oemlink-ingest-sink --cert FILE --key FILE --ca FILE [options]

  --listen HOST:PORT        address to serve on (default 127.0.0.1:8443; port 0 = any free port,
                            printed on stdout as "listening on HOST:PORT")
  --cert FILE, --key FILE   the server's certificate chain and key (PEM)
  --ca FILE                 CA that client certificates must chain to (required: mutual TLS)
  --threads N               worker threads (default 2)
  --store FILE              append each accepted event as one JSON line (with "_client_cn")
  --expect-addresses FILE   JSON {producer DID: address} or [address, ...]: signatures must
                            recover to the producer's (or one listed) address
  --require-signature       without --expect-addresses: a signature must still be present and
                            recover (DIS itself does not check)
  --fail-rate-500 P         answer 500 to this fraction of POSTs
  --fail-rate-400 P         answer 400 to this fraction of POSTs (valid or not)
  --stall-rate P            hold this fraction for --stall-ms (default 2000), then 500 or close
  --drop-rate P             close the connection without answering this fraction
  --down-ms N               answer 503 to every POST for the first N ms
  --seed N                  fault injection seed (default 1)
  --log-level LEVEL         trace|debug|info|warn|error (default info); logs go to stderr
)";

struct Options {
  TlsServerOptions server;
  std::string store_file;
  std::string expect_file;
  bool require_signature = false;
  FaultOptions faults;
  std::string log_level = "info";
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "oemlink-ingest-sink: " << message << "\n\n" << kUsage;
  std::exit(2);
}

template <class Number>
Number parse_number(std::string_view flag, std::string_view text) {
  Number value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    usage_error(std::string(flag) + ": not a number: " + std::string(text));
  return value;
}

double parse_rate(std::string_view flag, std::string_view text) {
  const double p = parse_number<double>(flag, text);
  if (p < 0 || p > 1) usage_error(std::string(flag) + " must be in [0, 1]");
  return p;
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.server.port = 8443;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (flag == "--require-signature") {
      o.require_signature = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("missing value for " + std::string(flag));
    const std::string_view value = argv[++i];
    if (flag == "--listen") {
      const size_t colon = value.rfind(':');
      if (colon == value.npos) usage_error("--listen wants HOST:PORT");
      std::string_view host = value.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      o.server.host = std::string(host);
      o.server.port = parse_number<uint16_t>(flag, value.substr(colon + 1));
    } else if (flag == "--cert") {
      o.server.cert_file = value;
    } else if (flag == "--key") {
      o.server.key_file = value;
    } else if (flag == "--ca") {
      o.server.ca_file = value;
    } else if (flag == "--threads") {
      o.server.threads = parse_number<int>(flag, value);
      if (o.server.threads < 1 || o.server.threads > 256) usage_error("--threads: 1..256");
    } else if (flag == "--store") {
      o.store_file = value;
    } else if (flag == "--expect-addresses") {
      o.expect_file = value;
    } else if (flag == "--fail-rate-500") {
      o.faults.fail_rate_500 = parse_rate(flag, value);
    } else if (flag == "--fail-rate-400") {
      o.faults.fail_rate_400 = parse_rate(flag, value);
    } else if (flag == "--stall-rate") {
      o.faults.stall_rate = parse_rate(flag, value);
    } else if (flag == "--stall-ms") {
      o.faults.stall_time = std::chrono::milliseconds(parse_number<uint32_t>(flag, value));
    } else if (flag == "--drop-rate") {
      o.faults.drop_rate = parse_rate(flag, value);
    } else if (flag == "--down-ms") {
      o.faults.down_time = std::chrono::milliseconds(parse_number<uint32_t>(flag, value));
    } else if (flag == "--seed") {
      o.faults.seed = parse_number<uint64_t>(flag, value);
    } else if (flag == "--log-level") {
      o.log_level = value;
    } else {
      usage_error("unknown flag " + std::string(flag));
    }
  }
  if (o.server.cert_file.empty() || o.server.key_file.empty() || o.server.ca_file.empty())
    usage_error("--cert, --key and --ca are required");
  const auto& f = o.faults;
  if (f.fail_rate_500 + f.fail_rate_400 + f.stall_rate + f.drop_rate > 1.0 + 1e-9)
    usage_error("the fault rates add up to more than 1");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("ingest-sink"));
  const auto level = spdlog::level::from_str(options.log_level);
  if (level == spdlog::level::off && options.log_level != "off")
    usage_error("--log-level: unknown level " + options.log_level);
  spdlog::set_level(level);

  try {
    ValidatorOptions validation;
    validation.require_signature = options.require_signature;
    if (!options.expect_file.empty())
      validation.expected = ExpectedSigners::load(options.expect_file);
    EventStore store(options.store_file);
    FaultInjector faults(options.faults);
    IngestService service(RequestValidator(std::move(validation)), faults, store);
    TlsServer server(options.server,
                     [&service](const HttpRequest& request, std::string_view client_cn) {
                       return service.handle(request, client_cn);
                     });
    service.attach(&server);

    boost::asio::signal_set signals(server.io(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("signal {}: shutting down", signal);
      server.stop();
    });

    // Tests and scripts start us on port 0 and read the real port from this line.
    std::printf("listening on %s:%u\n", options.server.host.c_str(), server.port());
    std::fflush(stdout);
    spdlog::info("serving on {}:{} with {} threads{}", options.server.host, server.port(),
                 options.server.threads,
                 options.store_file.empty() ? "" : ", storing to " + options.store_file);

    server.run();
    store.close();
    spdlog::info("stopped: {}", service.stats_json().substr(0, 1000));
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
