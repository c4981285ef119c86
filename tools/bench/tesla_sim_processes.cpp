#include "tools/bench/tesla_sim_processes.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

namespace oemlink::bench {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, std::string* first_line) {
  int out[2] = {-1, -1};
  if (first_line && pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (first_line) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  if (!first_line) return;
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  // Keep draining what the child prints so it never blocks on a full pipe.
  std::thread([fd = out[0]] {
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
  }).detach();
  *first_line = line;
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::unique_ptr<ChildProcess> start_mosquitto(const std::filesystem::path& dir, int port) {
  const auto conf = dir / "mosquitto.conf";
  // As root mosquitto would switch to its own user and lose access to the temp dir.
  std::ofstream(conf) << "listener " << port
                      << " 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest none\n";
  auto p = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf.string()});
  for (int i = 0; i < 100; ++i) {  // until it accepts connections
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (up) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("mosquitto did not start on port " + std::to_string(port));
}

namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t append_header(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    static_cast<testkit::Headers*>(out)->emplace_back(line.substr(0, colon), value);
  }
  return size * n;
}

CURL* thread_curl() {
  thread_local std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(),
                                                                          &curl_easy_cleanup);
  return handle.get();
}

}  // namespace

testkit::HttpReply forward_http(const testkit::RecordedRequest& request) {
  CURL* c = thread_curl();
  curl_easy_reset(c);
  testkit::HttpReply reply;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                   request.method.empty() ? "GET" : request.method.c_str());
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(request.timeout_ms ? request.timeout_ms : 30000));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &append_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) return testkit::HttpReply::transport_failure(curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  reply.http_status = int(code);
  return reply;
}

std::string http_get(int port, const std::string& path) {
  testkit::RecordedRequest r;
  r.method = "GET";
  r.url = "http://127.0.0.1:" + std::to_string(port) + path;
  testkit::HttpReply a = forward_http(r);
  return a.status == OEMLINK_OK && a.http_status == 200 ? a.body : std::string();
}

void write_p256_key_pair(const std::filesystem::path& private_pem,
                         const std::filesystem::path& public_pem) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key) throw std::runtime_error("P-256 key generation failed");
  FILE* f = std::fopen(private_pem.c_str(), "w");
  FILE* g = std::fopen(public_pem.c_str(), "w");
  const bool ok = f && g && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) &&
                  PEM_write_PUBKEY(g, key);
  if (f) std::fclose(f);
  if (g) std::fclose(g);
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("writing the partner key pair failed");
}

}  // namespace oemlink::bench
