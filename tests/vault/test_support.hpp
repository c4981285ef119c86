// Shared fixtures for the vault tests: temp dirs, files with modes, env overrides, the DIMO test
// vectors, and a real oemlink-keyd child process.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace oemlink::vault::test {

// Public test seed from DIMO's tesla-oracle unit tests, with the addresses of its children 0..2.
inline constexpr const char* kDimoSeedHex =
    "cabaabd8c7c7d27347349e48fb11319bc6656cb6cc1bdc717e94dae8db7e6bc2";
inline const std::vector<std::string> kDimoAddresses = {
    "0x8FF5F4f700242E43EC40ebAee93f390C7aD84aeD",
    "0x5003F9E08AEE2398945915efE85cd70f3e2F151b",
    "0xDf619BDB04Ecf7bB80Be8824d94032020406E113",
};
inline constexpr const char* kKekHex =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
inline constexpr const char* kOtherKekHex =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& p, const std::string& content, unsigned mode = 0600);
std::string read_file(const std::filesystem::path& p);

// Sets (or unsets, with nullptr) a variable for the scope, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value);
  ~ScopedEnv();

 private:
  std::string name_;
  bool had_ = false;
  std::string old_;
};

// The 32 bytes of a hex string.
std::vector<uint8_t> unhex(const std::string& hex);

// A running oemlink-keyd (from the build dir), stopped with SIGTERM when destroyed.
class KeydProcess {
 public:
  // `args` follow the program name; `env` entries ("NAME=value") are added to the environment.
  // Waits until the socket accepts connections (or the process exits).
  KeydProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
              const std::filesystem::path& socket);
  ~KeydProcess();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and returns the exit status as waitpid reports it.
  int terminate();
  const std::string& log_file() const { return log_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

std::filesystem::path keyd_binary();

}  // namespace oemlink::vault::test
