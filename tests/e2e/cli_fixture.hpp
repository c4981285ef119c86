// Runs the real `oemlink` executable in a scratch directory, as an operator would.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace oemlink::testing {

namespace fs = std::filesystem;
inline const fs::path kExe = fs::path(OEMLINK_BINARY_DIR) / "oemlink";
inline const fs::path kSource = OEMLINK_SOURCE_DIR;

struct Result {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oemlink-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts `exe args...` in dir_, stdout/stderr to `<name>.out`/`<name>.err` ("stdout" and
  // "stderr" without a name); `env_` entries are set in the child, then `in_child_` (limits,
  // capabilities) runs there just before exec.
  pid_t spawn(const std::vector<std::string>& args, const fs::path& exe = kExe,
              const std::string& name = "") {
    std::string out_file = name.empty() ? "stdout" : name + ".out";
    std::string err_file = name.empty() ? "stderr" : name + ".err";
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir_.c_str()) != 0) _exit(127);
      for (auto& [k, v] : env_) setenv(k.c_str(), v.c_str(), 1);
      int out = open((dir_ / out_file).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      int err = open((dir_ / err_file).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(out, 1);
      dup2(err, 2);
      if (in_child_) in_child_();
      std::vector<std::string> copy = args;
      std::string path = exe.string();
      std::vector<char*> argv;
      argv.push_back(path.data());
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    return pid;
  }
  Result wait_for(pid_t pid, const std::string& name = "") {
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(dir_ / (name.empty() ? "stdout" : name + ".out"));
    r.err = slurp(dir_ / (name.empty() ? "stderr" : name + ".err"));
    return r;
  }
  // Runs to completion; the output files start empty.
  Result run(const std::vector<std::string>& args) {
    fs::remove(dir_ / "stdout");
    fs::remove(dir_ / "stderr");
    return wait_for(spawn(args));
  }
  // Polls `ok` every 20 ms for up to `limit`; its last answer.
  static bool eventually(const std::function<bool()>& ok,
                         std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ok();
  }
  // The port a server spawned as `name` printed ("listening on 127.0.0.1:<port>" in
  // <name>.out, as the ingest sink does), waited for up to 10 s; 0, and a test failure, when it
  // never came.
  int listening_port(const std::string& name) {
    for (int i = 0; i < 1000; ++i) {
      std::string out = slurp(dir_ / (name + ".out"));
      auto at = out.find("listening on 127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos)
        return std::stoi(out.substr(at + 23));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << name << " did not start: " << slurp(dir_ / (name + ".err"));
    return 0;
  }
  // The reference ingest server (`oemlink-ingest-sink`, mutual TLS with a fresh test PKI in
  // pki/) on a free port, storing what it accepts in ingest.jsonl; sets `pid`, returns the port.
  int start_reference_ingest(pid_t& pid) {
    std::string cmd = "bash '" + (kSource / "tools/make-test-pki.sh").string() + "' '" +
                      (dir_ / "pki").string() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    pid = spawn({"--cert", "pki/server.crt", "--key", "pki/server.key", "--ca", "pki/ca.crt",
                 "--listen", "127.0.0.1:0", "--store", "ingest.jsonl"},
                fs::path(OEMLINK_BINARY_DIR) / "oemlink-ingest-sink", "ingest");
    return listening_port("ingest");
  }
  fs::path write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
  std::function<void()> in_child_;
};

#define EXPECT_HAS(hay, needle) EXPECT_NE((hay).find(needle), std::string::npos) << (hay)

}  // namespace oemlink::testing
