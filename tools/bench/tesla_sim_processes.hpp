// What the Tesla cost simulation runs beside the driver: a private mosquitto broker and the mock
// Tesla (`oemlink-mock-oem tesla`) as child processes, and a blocking libcurl client that
// forwards the driver's HTTP requests to the mock. Benchmark tooling only (tools/bench).
#pragma once

#include <oemlink/testkit/fake_host.hpp>

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace oemlink::bench {

// A child process, killed (SIGTERM, then waited for) when this object dies.
class ChildProcess {
 public:
  // Starts `argv`; when `first_line` is given, waits for the child's first line of standard
  // output and stores it there (the mock prints "listening <port>").
  ChildProcess(const std::vector<std::string>& argv, std::string* first_line = nullptr);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound and released: good enough for a benchmark).
int free_port();

// Starts mosquitto on 127.0.0.1:`port` with a config written into `dir`.
std::unique_ptr<ChildProcess> start_mosquitto(const std::filesystem::path& dir, int port);

// One blocking request; transport failures become HttpReply::transport_failure.
testkit::HttpReply forward_http(const testkit::RecordedRequest& request);

// GET http://127.0.0.1:`port``path`: the body, or empty on failure.
std::string http_get(int port, const std::string& path);

// Writes a fresh P-256 key pair: `private_pem` (PKCS#8) and `public_pem` (SubjectPublicKeyInfo).
void write_p256_key_pair(const std::filesystem::path& private_pem,
                         const std::filesystem::path& public_pem);

}  // namespace oemlink::bench
