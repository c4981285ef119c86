// `oemlink-mock-oem tesla`: wires the mock Tesla's parts together and serves until a signal.
#include "tools/mock-oem/mock_commands.hpp"
#include "tools/mock-oem/tesla/billing.hpp"
#include "tools/mock-oem/tesla/capture_store.hpp"
#include "tools/mock-oem/tesla/fleet.hpp"
#include "tools/mock-oem/tesla/fleet_api.hpp"
#include "tools/mock-oem/tesla/injection.hpp"
#include "tools/mock-oem/tesla/telemetry_publisher.hpp"
#include "tools/mock-oem/tesla/tesla_options.hpp"
#include "tools/mock-oem/tesla/token_authority.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <memory>

namespace oemlink::mock_oem {

int run_tesla(int argc, char** argv) {
  using namespace tesla;
  TeslaOptions options;
  try {
    if (parse_tesla_options(argc, argv, options) == ParseOutcome::kHelp) {
      std::fputs(tesla_usage(), stdout);
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "oemlink-mock-oem tesla: %s\n", e.what());
    return 2;
  }
  // Standard output carries only the "listening" line: a parent that stops reading it after
  // that line must not kill the mock with SIGPIPE on the next log line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("mock-tesla"));
  std::signal(SIGPIPE, SIG_IGN);
  // A woken car stays up for 15 simulated minutes before the day simulation may put it back
  // to sleep.
  options.fleet.wake_hold = std::chrono::milliseconds(
      static_cast<int64_t>(900'000 / (options.mqtt.host.empty() ? 1.0 : options.mqtt.time_scale)));
  try {
    auto cars = load_captures(options.captures, options.synthesize);
    std::vector<std::string> vins;
    for (const auto& car : cars) vins.push_back(car.vin);
    Fleet fleet(std::move(cars), options.fleet);
    for (const auto& e : options.telemetry_errors) {
      if (!fleet.find(e.vin))
        throw std::invalid_argument("--telemetry-error: no car with VIN or id '" + e.vin + "'");
      fleet.add_telemetry_error(e);
    }
    TokenAuthority tokens(options.tokens, options.accounts);
    for (const auto& [token, account] : options.refresh_tokens)
      tokens.accept_refresh_token(token, account);
    for (const auto& [code, account] : options.auth_codes) tokens.accept_auth_code(code, account);
    InjectionTable injections;
    for (const auto& rule : options.injections) injections.add(rule);
    Billing billing(vins);
    FleetApi api(options, tokens, fleet, injections, billing);

    MockHttpServerOptions server_options;
    server_options.host = options.host;
    server_options.port = options.port;
    server_options.threads = options.threads;
    MockHttpServer server(server_options, [&api](const Request& r) { return api.handle(r); });
    boost::asio::signal_set signals(server.io(), SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int) {
      if (!ec) server.stop();
    });
    std::unique_ptr<TelemetryPublisher> publisher;
    if (!options.mqtt.host.empty()) {
      publisher = std::make_unique<TelemetryPublisher>(options.mqtt, fleet, billing);
      publisher->start();
    }
    std::printf("listening %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    spdlog::info("mock tesla: {} cars from {}", vins.size(), options.captures.string());
    server.run();
    if (publisher) publisher->stop();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oemlink-mock-oem tesla: %s\n", e.what());
    return 1;
  }
}

}  // namespace oemlink::mock_oem
