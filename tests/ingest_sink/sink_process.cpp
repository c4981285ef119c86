#include "tests/ingest_sink/sink_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace oemlink::ingest_sink::testing {

SinkProcess::SinkProcess(const std::vector<std::string>& args, const std::string& log_file) {
  std::vector<std::string> argv_storage = {OEMLINK_BINARY_DIR "/oemlink-ingest-sink", "--listen",
                                           "127.0.0.1:0"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (log_fd >= 0) ::close(log_fd);
  stdout_fd_ = out[0];
  if (pid_ < 0) throw std::runtime_error("fork failed");

  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
  }
  const std::string prefix = "listening on 127.0.0.1:";
  if (seen.rfind(prefix, 0) != 0) {
    stop(SIGKILL);
    throw std::runtime_error("ingest sink did not start (stdout: \"" + seen + "\", log " +
                             log_file + ")");
  }
  port_ = static_cast<uint16_t>(std::stoi(seen.substr(prefix.size())));
}

SinkProcess::~SinkProcess() {
  if (pid_ > 0) stop(SIGKILL);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

int SinkProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 || std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace oemlink::ingest_sink::testing
