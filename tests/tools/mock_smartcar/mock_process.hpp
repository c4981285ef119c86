// Runs oemlink-mock-oem as a subprocess and talks HTTP to it with libcurl.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace oemlink::testing {

namespace fs = std::filesystem;
inline const fs::path kMockExe = fs::path(OEMLINK_BINARY_DIR) / "oemlink-mock-oem";
inline const fs::path kExamples =
    fs::path(OEMLINK_SOURCE_DIR) / "tools" / "mock-oem" / "smartcar" / "examples";
inline const std::string kVw = "a1d50709-3502-4faa-ba43-a5c7565e6a09";      // km, bar≈258
inline const std::string kJaguar = "00000000-0000-4000-8000-0000000000aa";  // kilometers, kPa
inline const std::string kFord = "7c8e2f3a-1b4d-4e5f-8a9b-0c1d2e3f4a5b";    // ICE, true bar

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline fs::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("mock-smartcar-" + std::to_string(getpid()) + "-" +
                                              info->test_suite_name() + "-" + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string hmac_hex(const std::string& key, const std::string& msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &n);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += {hex[mac[i] >> 4], hex[mac[i] & 15]};
  return out;
}

inline pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<std::string> copy = args;
    std::string exe = kMockExe.string();
    std::vector<char*> argv{exe.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

struct CommandResult {
  int rc = -1;
  std::string out, err;
  double seconds = 0;
};

// Runs `oemlink-mock-oem args...` to its end.
inline CommandResult run_mock(const std::vector<std::string>& args, const fs::path& dir) {
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = spawn(args, dir / "cmd.out", dir / "cmd.err");
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(dir / "cmd.out");
  r.err = slurp(dir / "cmd.err");
  return r;
}

struct HttpResult {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << body;
    return v;
  }
};

inline size_t curl_collect(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}
inline size_t curl_header(char* d, size_t s, size_t n, void* u) {
  std::string line(d, s * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(u))[name] = value;
  }
  return s * n;
}

inline HttpResult http(const std::string& method, const std::string& url,
                       const std::vector<std::string>& headers = {}, const std::string& body = "",
                       long timeout_ms = 10'000) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &curl_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &curl_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

// `oemlink-mock-oem smartcar ...` for the length of a test.
class MockSmartcar {
 public:
  explicit MockSmartcar(std::vector<std::string> args, fs::path dir = scratch_dir())
      : dir_(std::move(dir)) {
    args.insert(args.begin(), {"smartcar", "--port", "0"});
    // A previous mock's "listening" line must not be mistaken for this one's.
    fs::remove(dir_ / "mock.out");
    pid_ = spawn(args, dir_ / "mock.out", dir_ / "mock.err");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = slurp(dir_ / "mock.out");
      if (auto nl = out.find('\n'); nl != std::string::npos) {
        first_line_ = out.substr(0, nl);
        if (first_line_.rfind("listening ", 0) == 0) port_ = std::stoi(first_line_.substr(10));
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~MockSmartcar() { stop(); }

  // SIGTERM, then the exit code (-1 when it was not running).
  int stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  std::string stderr_text() const { return slurp(dir_ / "mock.err"); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  HttpResult get(const std::string& path, const std::string& token = "") const {
    std::vector<std::string> h;
    if (!token.empty()) h.push_back("Authorization: Bearer " + token);
    return http("GET", url(path), h);
  }
  HttpResult signals(const std::string& vehicle, const std::string& token,
                     const std::string& query = "") const {
    return get("/v3/vehicles/" + vehicle + "/signals" + query, token);
  }
  HttpResult refresh(const std::string& refresh_token, const std::string& id = "mock-client-id",
                     const std::string& secret = "mock-client-secret") const {
    CURL* c = curl_easy_init();
    char* escaped = curl_easy_escape(c, refresh_token.c_str(), 0);
    std::string body = "grant_type=refresh_token&refresh_token=" + std::string(escaped);
    curl_free(escaped);
    curl_easy_cleanup(c);
    return post_form(body, id, secret);
  }
  HttpResult post_form(const std::string& body, const std::string& id = "mock-client-id",
                       const std::string& secret = "mock-client-secret") const {
    // Basic credentials built by hand, not by the mock's code.
    const std::string plain = id + ":" + secret;
    std::string b64(4 * ((plain.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  reinterpret_cast<const unsigned char*>(plain.data()),
                                  static_cast<int>(plain.size()));
    b64.resize(static_cast<size_t>(n));
    return http("POST", url("/oauth/token"),
                {"Authorization: Basic " + b64, "Content-Type: application/x-www-form-urlencoded"},
                body);
  }
  HttpResult inject(const std::string& rule_json) const {
    return http("POST", url("/mock/inject"), {"Content-Type: application/json"}, rule_json);
  }
  boost::json::value stats() const { return get("/stats").json(); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string first_line_;
};

}  // namespace oemlink::testing
