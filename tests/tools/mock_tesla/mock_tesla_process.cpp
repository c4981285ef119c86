#include "tests/tools/mock_tesla/mock_tesla_process.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

namespace oemlink::mock_oem::testing {
namespace {

namespace json = boost::json;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path make_temp_dir() {
  std::string tmpl = (fs::path(::testing::TempDir()) / "mock-tesla-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) ADD_FAILURE() << "mkdtemp failed";
  return tmpl;
}

}  // namespace

json::value HttpAnswer::json() const {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) ADD_FAILURE() << "not JSON: " << body;
  return v;
}

HttpAnswer http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers) {
  HttpAnswer a;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  const auto start = std::chrono::steady_clock::now();
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return a;
}

MockTesla::MockTesla(std::vector<std::string> extra) {
  dir_ = make_temp_dir();
  fs::create_directories(dir_ / "captures");
  const fs::path fixtures = OEMLINK_TESLA_FIXTURES;
  fs::copy_file(fixtures / "vehicle_data_HTLC_2023_09_19.json",
                dir_ / "captures" / (std::string(kVinS85) + ".json"));
  fs::copy_file(fixtures / "vehicle_data_BitcoinLightning_2023_10_09.json",
                dir_ / "captures" / (std::string(kVinS60) + ".json"));
  fs::copy_file(fixtures / "vehicle_data_gak_2023_11_11.json",
                dir_ / "captures" / (std::string(kVinModel3) + ".json"));

  std::vector<std::string> args{OEMLINK_MOCK_OEM_BINARY,     "tesla", "--port", "0", "--captures",
                                (dir_ / "captures").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (pipe(out) != 0) return;
  const std::string err_path = (dir_ / "stderr.txt").string();
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    const int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) dup2(fd, 2);
    close(out[0]);
    auto argv = argv_of(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  // The first line is "listening <port>".
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  if (line.rfind("listening ", 0) == 0) port_ = std::atoi(line.c_str() + 10);
  if (port_ <= 0) ADD_FAILURE() << "mock did not start: '" << line << "' stderr: " << err();
}

MockTesla::~MockTesla() {
  terminate();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

int MockTesla::terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string MockTesla::err() const {
  return slurp(dir_ / "stderr.txt");
}

HttpAnswer MockTesla::refresh(const std::string& refresh_token, const std::string& prefix) {
  return http("POST", base() + prefix + "/oauth2/v3/token",
              "grant_type=refresh_token&client_id=mock-client-id&refresh_token=" + refresh_token,
              {"Content-Type: application/x-www-form-urlencoded"});
}

std::string MockTesla::access_token(const std::string& refresh_token) {
  const HttpAnswer a = refresh(refresh_token);
  EXPECT_EQ(a.status, 200) << a.body;
  if (a.status != 200) return {};
  return std::string(a.json().as_object().at("access_token").as_string());
}

HttpAnswer MockTesla::get(const std::string& path, const std::string& token) {
  return http("GET", base() + path, {}, {"Authorization: Bearer " + token});
}

HttpAnswer MockTesla::post(const std::string& path, const std::string& token,
                           const std::string& body) {
  return http("POST", base() + path, body,
              {"Authorization: Bearer " + token, "Content-Type: application/json"});
}

boost::json::object MockTesla::stats() {
  const HttpAnswer a = http("GET", base() + "/stats");
  EXPECT_EQ(a.status, 200);
  return a.json().as_object();
}

int run_mock(const std::vector<std::string>& args_in, std::string* out, std::string* err) {
  std::vector<std::string> args{OEMLINK_MOCK_OEM_BINARY};
  args.insert(args.end(), args_in.begin(), args_in.end());
  const fs::path dir = make_temp_dir();
  const std::string out_path = (dir / "out").string(), err_path = (dir / "err").string();
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    auto argv = argv_of(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (out) *out = slurp(out_path);
  if (err) *err = slurp(err_path);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace oemlink::mock_oem::testing
