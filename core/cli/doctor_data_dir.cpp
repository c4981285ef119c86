// The data dir: there (or creatable), ours, 0700, writable, with room. Writability is tried with
// a temp file created and removed at once: access() says yes to root on a read-only mount.
#include "core/cli/doctor.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace oemlink::cli {
namespace fs = std::filesystem;

namespace {

// Below this the outbox cannot take a burst and SQLite may fail mid-transaction.
constexpr uint64_t kFreeFloor = 100ull << 20;

// "" when a file could be created and removed in `dir`, else why not.
std::string try_write(const fs::path& dir) {
  std::string name = (dir / ".oemlink-doctor-XXXXXX").string();
  int fd = ::mkstemp(name.data());
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(name.c_str());
  return "";
}

// "" when a directory could be created (and was removed again) where `dir` would be.
std::string try_create(const fs::path& dir, fs::path& existing) {
  existing = dir.parent_path();
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (existing.empty()) existing = ".";
  if (!fs::is_directory(existing, ec)) return existing.string() + " is not a directory";
  std::string probe = (existing / ".oemlink-doctor-XXXXXX").string();
  if (!::mkdtemp(probe.data())) return existing.string() + ": " + std::strerror(errno);
  ::rmdir(probe.c_str());
  return "";
}

void add_free_space(const fs::path& at, const config::Config& cfg, std::string& detail,
                    CheckResult& result) {
  struct statvfs vfs {};
  if (::statvfs(at.c_str(), &vfs) != 0) {
    detail += "; free space unknown (" + std::string(std::strerror(errno)) + ")";
    result = std::max(result, CheckResult::warn);
    return;
  }
  const uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const uint64_t total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  detail += "; " + human_bytes(free) + " free of " + human_bytes(total);
  if (free < kFreeFloor) {
    detail += ", under the floor of " + human_bytes(kFreeFloor);
    result = CheckResult::fail;
  } else if (free < cfg.outbox.max_bytes) {
    detail += ", less than outbox.max_bytes (" + human_bytes(cfg.outbox.max_bytes) + ")";
    result = std::max(result, CheckResult::warn);
  }
}

}  // namespace

void doctor_data_dir(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    report.add("data dir", CheckResult::skip, kNoConfig);
    return;
  }
  const config::Config& cfg = *ctx.cfg;
  const fs::path dir = cfg.data_dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    // ENOTDIR: a file stands where a parent directory should be; try_create says which.
    if (errno != ENOENT && errno != ENOTDIR) {
      report.add("data dir", CheckResult::fail, dir.string() + ": " + std::strerror(errno));
      return;
    }
    fs::path existing;
    if (std::string why = try_create(dir, existing); !why.empty()) {
      report.add("data dir", CheckResult::fail,
                 dir.string() + " does not exist and cannot be created: " + why);
      return;
    }
    std::string detail =
        dir.string() + " does not exist yet; it can be created (the first run does)";
    CheckResult result = CheckResult::pass;
    add_free_space(existing, cfg, detail, result);
    report.add("data dir", result, detail);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    report.add("data dir", CheckResult::fail, dir.string() + " is not a directory");
    return;
  }
  std::string detail = dir.string();
  CheckResult result = CheckResult::pass;
  if (st.st_uid != ::geteuid()) {
    detail += ": owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
              std::to_string(::geteuid()) + "); run doctor as the daemon's user";
    result = CheckResult::fail;
  }
  const unsigned mode = st.st_mode & 07777;
  char mode_text[8];
  std::snprintf(mode_text, sizeof mode_text, "%04o", mode);
  if ((mode & 077) != 0) {
    detail += std::string(result == CheckResult::fail ? "; " : ": ") + "mode " + mode_text +
              " lets other users in (want 0700: chmod 700 " + dir.string() + ")";
    result = CheckResult::fail;
  } else if (result == CheckResult::pass) {
    detail += ": mode " + std::string(mode_text);
  }
  if (std::string why = try_write(dir); !why.empty()) {
    detail += "; not writable: " + why;
    result = CheckResult::fail;
  } else {
    detail += ", writable";
  }
  if (ctx.daemon_pid > 0)
    detail += ", held by the running daemon (pid " + std::to_string(ctx.daemon_pid) + ")";
  add_free_space(dir, cfg, detail, result);
  report.add("data dir", result, detail);
}

}  // namespace oemlink::cli
