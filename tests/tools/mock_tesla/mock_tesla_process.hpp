// Runs `oemlink-mock-oem tesla` as a child process on a temp captures dir made from the shared
// fixtures, and speaks HTTP to it with libcurl.
#pragma once

#include <boost/json/object.hpp>

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace oemlink::mock_oem::testing {

namespace fs = std::filesystem;

// The three shared vehicle_data captures, as DIR/<VIN>.json.
inline constexpr const char* kVinS85 = "5YJSA7H4XFF088491";     // HTLC capture (with location)
inline constexpr const char* kVinS60 = "5YJSA2DN0DFP21224";     // BitcoinLightning (location)
inline constexpr const char* kVinModel3 = "LRW3E7FS5NC000123";  // gak (no location members)

struct HttpAnswer {
  long status = 0;  // 0: no answer (connection dropped)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  double seconds = 0;
  boost::json::value json() const;
};

HttpAnswer http(const std::string& method, const std::string& url, const std::string& body = {},
                const std::vector<std::string>& headers = {});

class MockTesla {
 public:
  // Copies the fixtures into a fresh captures dir, then starts the mock with `args` after
  // `tesla --port 0 --captures DIR`.
  explicit MockTesla(std::vector<std::string> args);
  ~MockTesla();  // SIGTERM, then waits
  MockTesla(const MockTesla&) = delete;
  MockTesla& operator=(const MockTesla&) = delete;

  bool running() const { return port_ > 0; }
  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string err() const;  // its stderr, for failure messages
  int terminate();          // SIGTERM; the exit status

  // Refresh-token grant; returns the parsed answer.
  HttpAnswer refresh(const std::string& refresh_token, const std::string& prefix = "");
  // An access token from a seeded refresh token (asserts success).
  std::string access_token(const std::string& refresh_token);
  HttpAnswer get(const std::string& path, const std::string& token);
  HttpAnswer post(const std::string& path, const std::string& token, const std::string& body);
  boost::json::object stats();

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs the program to completion (for --help and bad options): exit status and stdout.
int run_mock(const std::vector<std::string>& args, std::string* out, std::string* err);

}  // namespace oemlink::mock_oem::testing
