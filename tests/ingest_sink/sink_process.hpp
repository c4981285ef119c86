// Runs the real oemlink-ingest-sink binary on port 0 for a test and reads back its port.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace oemlink::ingest_sink::testing {

class SinkProcess {
 public:
  // Starts `<build>/oemlink-ingest-sink --listen 127.0.0.1:0 <args>`, stderr to `log_file`, and
  // waits (up to 10 s) for its "listening on" line. Throws std::runtime_error when it does not
  // come up.
  SinkProcess(const std::vector<std::string>& args, const std::string& log_file);
  ~SinkProcess();  // SIGKILL if still running
  SinkProcess(const SinkProcess&) = delete;
  SinkProcess& operator=(const SinkProcess&) = delete;

  uint16_t port() const { return port_; }

  // Sends `signal` and waits (up to 10 s); returns the exit code, or -1 when it did not exit
  // normally in time.
  int stop(int signal);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace oemlink::ingest_sink::testing
