// Command line of `oemlink-mock-oem tesla`; kUsage (tesla_options.cpp) lists every option.
#pragma once

#include "tools/mock-oem/tesla/fleet.hpp"
#include "tools/mock-oem/tesla/injection.hpp"
#include "tools/mock-oem/tesla/token_authority.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::mock_oem::tesla {

struct MqttOptions {
  std::string host;  // empty: no publisher
  int port = 1883;
  std::string topic_base = "telemetry";
  std::string client_id = "oemlink-mock-tesla";
  std::string username, password;
  int qos = 0;
  bool retain = false;
  std::chrono::milliseconds interval{1000};
  double time_scale = 1.0;
  std::optional<int> start_minute_of_day;  // simulated clock starts here (UTC), else now
  bool only_configured = false;            // stream only cars with a posted config
};

struct TeslaOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int threads = 2;
  std::filesystem::path captures;
  int synthesize = 0;
  std::string public_base;  // e.g. http://mock.example:8080; empty: from the Host header

  TokenAuthorityConfig tokens;
  std::map<std::string, AccountProfile> accounts;                   // always holds "default"
  std::vector<std::pair<std::string, std::string>> refresh_tokens;  // token, account
  std::vector<std::pair<std::string, std::string>> auth_codes;      // code, account
  std::set<std::string> registered_regions{"na", "eu", "cn"};
  std::optional<std::string> partner_public_key;  // 65 raw bytes, from a PEM file

  FleetOptions fleet;
  std::vector<TelemetryError> telemetry_errors;

  std::vector<InjectionRule> injections;
  int latency_ms = 0;
  int latency_jitter_ms = 0;
  int rate_limit_limit = 200;  // the RateLimit-Limit header on 429s
  bool bill_account_calls = true;
  int vehicles_per_page = 100;

  MqttOptions mqtt;
};

enum class ParseOutcome { kRun, kHelp };

// Throws std::invalid_argument naming the option at fault.
ParseOutcome parse_tesla_options(int argc, char** argv, TeslaOptions& out);
const char* tesla_usage();

}  // namespace oemlink::mock_oem::tesla
