#include "core/vault/kek_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "core/common/hex.hpp"
#include "core/common/private_files.hpp"
#include "core/common/process_hardening.hpp"
#include "core/vault/key_vault.hpp"

extern char** environ;

namespace oemlink::vault {
namespace {

// 64 hex digits + line ending, with room to notice "too long" without reading forever.
constexpr size_t kMaxKekText = 256;

// Holds KEK text while it is parsed: locked memory, wiped on every path out.
struct SecretText {
  LockedBuffer bytes{kMaxKekText + 1};
  size_t size = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), size}; }
};

void parse_into(Kek& kek, std::string_view text, const std::string& source_name) {
  std::string why;
  if (!decode_hex_secret(text, kek.mutable_key(), why)) throw VaultError(source_name + " " + why);
}

Kek read_env(const KekSourceConfig& src) {
  const char* value = std::getenv(src.value.c_str());
  if (value == nullptr) {
    throw VaultError(describe(src) + " is not set (it must hold the 64-hex-character KEK)");
  }
  Kek kek;
  parse_into(kek, value, describe(src));
  return kek;
}

// KEKs taken out of the environment, by variable name; see take_env_keks_out_of_environment.
struct TakenEnvKeks {
  std::mutex mu;
  bool enabled = false;
  std::vector<std::pair<std::string, LockedDataKey>> keys;
};

TakenEnvKeks& taken_env_keks() {
  static TakenEnvKeks taken;
  return taken;
}

Kek from_env(const KekSourceConfig& src) {
  TakenEnvKeks& taken = taken_env_keks();
  std::lock_guard lock(taken.mu);
  if (!taken.enabled) return read_env(src);
  for (const auto& [name, key] : taken.keys) {
    if (name != src.value) continue;
    Kek kek;
    kek.mutable_key() = key.get();
    return kek;
  }
  // Scrubbed on every way out, a malformed value too: it may be a KEK with a typo.
  struct Scrub {
    const std::string& name;
    ~Scrub() { scrub_environment_variable(name); }
  } scrub{src.value};
  Kek kek = read_env(src);
  taken.keys.emplace_back(src.value, LockedDataKey(kek.get()));
  return kek;
}

// What a KEK command inherits: this process's environment less every variable that may hold a
// KEK — the default OEMLINK_KEK (set for another tool, or left over) and each variable a KEK was
// read from. The pointers stay valid while the environment is not changed (the spawn is
// immediate).
std::vector<char*> environment_without_keks() {
  std::vector<std::string> names{"OEMLINK_KEK"};
  {
    TakenEnvKeks& taken = taken_env_keks();
    std::lock_guard lock(taken.mu);
    for (const auto& [name, key] : taken.keys) names.push_back(name);
  }
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool secret = false;
    for (const std::string& n : names)
      if (entry.size() > n.size() && entry.starts_with(n) && entry[n.size()] == '=') secret = true;
    if (!secret) env.push_back(*e);
  }
  env.push_back(nullptr);
  return env;
}

Kek from_file(const KekSourceConfig& src) {
  const std::string name = describe(src);
  const int fd = ::open(src.value.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw VaultError("cannot open " + name + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) throw VaultError("cannot stat " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw VaultError(name + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    throw VaultError(name + " has mode " + mode_string(st.st_mode) +
                     "; it must not be accessible by group or others (chmod 600 it)");
  }
  SecretText text;
  while (text.size < text.bytes.size()) {
    const ssize_t n = ::read(fd, text.bytes.data() + text.size, text.bytes.size() - text.size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw VaultError("cannot read " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    text.size += static_cast<size_t>(n);
  }
  if (text.size > kMaxKekText) {
    throw VaultError(name + " must be exactly 64 hex characters (32 bytes); it is longer than " +
                     std::to_string(kMaxKekText) + " bytes");
  }
  Kek kek;
  parse_into(kek, text.view(), name);
  return kek;
}

// Runs the command in its own process group so a timeout can kill whatever the shell started.
class Child {
 public:
  Child(const std::string& command, int stdout_fd, int close_fd, const std::string& name) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, close_fd);
    posix_spawnattr_setpgroup(&attr, 0);
    // Default signal dispositions, so a host that ignores SIGPIPE does not pass that on.
    sigset_t all;
    sigfillset(&all);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    std::vector<char*> env = environment_without_keks();
    const int rc =
        posix_spawn(&pid_, "/bin/sh", &actions, &attr, const_cast<char**>(argv), env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw VaultError("cannot start " + name + ": " + std::strerror(rc));
  }
  ~Child() {
    if (pid_ > 0) {
      kill_group();
      (void)wait();
    }
  }
  void kill_group() { (void)::kill(-pid_, SIGKILL); }
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended abnormally";
}

Kek from_command(const KekSourceConfig& src) {
  const std::string name = describe(src);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw VaultError("cannot start " + name + ": pipe: " + std::strerror(errno));
  }
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
  } read_end{pipe_fds[0]}, write_end{pipe_fds[1]};

  Child child(src.value, write_end.fd, read_end.fd, name);
  ::close(write_end.fd);
  write_end.fd = -1;

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + src.command_timeout;
  SecretText text;
  bool eof = false;
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      child.kill_group();
      child.wait();
      throw VaultError(name + " did not finish within " +
                       std::to_string(src.command_timeout.count()) + " ms; killed it");
    }
    pollfd pfd{read_end.fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw VaultError("reading " + name + ": poll: " + std::strerror(errno));
    if (ready == 0) continue;
    if (text.size == text.bytes.size()) {
      // Too much output: stop reading; the length check below reports it.
      break;
    }
    const ssize_t n =
        ::read(read_end.fd, text.bytes.data() + text.size, text.bytes.size() - text.size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw VaultError("reading " + name + ": " + std::strerror(errno));
    if (n == 0) eof = true;
    text.size += static_cast<size_t>(n);
  }
  if (!eof) {
    // It printed more than any KEK; whatever it is, it is not one of ours.
    child.kill_group();
    child.wait();
    throw VaultError(name + " output must be exactly 64 hex characters (32 bytes); it printed " +
                     "more than " + std::to_string(kMaxKekText) + " bytes");
  }
  const int status = child.wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw VaultError(name + " " + status_text(status));
  }
  Kek kek;
  parse_into(kek, text.view(), name + " output");
  return kek;
}

}  // namespace

std::string describe(const KekSourceConfig& source) {
  switch (source.kind) {
    case KekSourceConfig::Kind::env:
      return "environment variable " + source.value;
    case KekSourceConfig::Kind::file:
      return "KEK file " + source.value;
    case KekSourceConfig::Kind::command: {
      const std::string& command = source.value;
      const size_t start = command.find_first_not_of(" \t");
      const std::string first =
          start == std::string::npos
              ? std::string()
              : command.substr(start, command.find_first_of(" \t", start) - start);
      return "KEK command '" + first + (first.size() < command.size() - start ? " …'" : "'");
    }
  }
  return "KEK source";
}

void take_env_keks_out_of_environment() {
  TakenEnvKeks& taken = taken_env_keks();
  std::lock_guard lock(taken.mu);
  taken.enabled = true;
}

Kek load_kek(const KekSourceConfig& source) {
  switch (source.kind) {
    case KekSourceConfig::Kind::env:
      return from_env(source);
    case KekSourceConfig::Kind::file:
      return from_file(source);
    case KekSourceConfig::Kind::command:
      if (source.value.find_first_not_of(" \t") == std::string::npos) {
        throw VaultError("the KEK command is empty");
      }
      return from_command(source);
  }
  throw VaultError("unknown KEK source");
}

}  // namespace oemlink::vault
