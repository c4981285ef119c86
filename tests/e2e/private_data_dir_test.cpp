// Nothing of a car's data is readable by other users: after `oemlink run` under umask 000, every
// file the daemon created under its data dir is 0600 and every directory 0700.
#include "tests/e2e/cli_fixture.hpp"

#include <sys/stat.h>

namespace oemlink::testing {
namespace {

class PrivateDataDirTest : public CliTest {
 protected:
  // Runs `oemlink args...` to completion with the most permissive umask.
  Result run_under_umask_000(const std::vector<std::string>& args) {
    const mode_t old = ::umask(0);
    Result r = run(args);
    ::umask(old);
    return r;
  }

  // Every entry under (and including) `root` whose mode is not private, as "path mode" lines.
  static std::string open_entries(const fs::path& root, size_t& files) {
    std::string out;
    auto check = [&](const fs::path& p) {
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) return;
      const unsigned mode = st.st_mode & 07777;
      unsigned want = 0600;
      if (S_ISDIR(st.st_mode)) want = 0700;
      if (S_ISREG(st.st_mode)) ++files;
      if (mode != want) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%04o", mode);
        out += p.string() + " " + buf + "\n";
      }
    };
    check(root);
    for (const auto& e : fs::recursive_directory_iterator(root)) check(e.path());
    return out;
  }
};

TEST_F(PrivateDataDirTest, EmbeddedDefaultCreatesOnlyPrivateFiles) {
  Result r = run_under_umask_000({"run", "--max-polls", "5", "--duration", "30s"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const fs::path data = dir_ / "var/oemlink";
  ASSERT_TRUE(fs::exists(data / "events.jsonl"));
  size_t files = 0;
  EXPECT_EQ(open_entries(data, files), "");
  EXPECT_GE(files, 5u);  // events, outbox, keys, vault, status at least
  // The parent the daemon created on the way is private too.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "var").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// Secrets (the probe rotates tokens), a log file, rotated sink files in a subdirectory.
TEST_F(PrivateDataDirTest, SecretsLogsAndRotatedSinkFilesArePrivate) {
  auto config =
      write("private.yaml",
            "data_dir: data\n"
            "logging: {file: logs/oemlink.log}\n"
            "vault: {create_if_missing: true, kek: {file: data/kek.hex}}\n"
            "outbox: {commit_delay: 1ms}\n"
            "drivers:\n"
            "  - {name: probe, library: " +
                std::string(OEMLINK_TEST_PLUGIN_DIR) +
                "/oemlink-driver-probe.so, poll_interval: 20ms}\n"
                "connections:\n"
                "  - {id: a, driver: probe, key_child: 1}\n"
                "  - {id: b, driver: probe, key_child: 2}\n"
                "sinks:\n"
                "  - {name: events, type: file, path: out/events.jsonl, rotate_bytes: 2KiB, "
                "keep_files: 2}\n");
  Result r = run_under_umask_000({"run", "--config", config.string(), "--duration", "2s"});
  ASSERT_EQ(r.rc, 0) << r.err << slurp(dir_ / "data/logs/oemlink.log");
  const fs::path data = dir_ / "data";
  EXPECT_TRUE(fs::exists(data / "secrets.db"));
  EXPECT_TRUE(fs::exists(data / "logs/oemlink.log"));
  EXPECT_TRUE(fs::exists(data / "out/events.jsonl.1"));  // rotated at least once
  size_t files = 0;
  EXPECT_EQ(open_entries(data, files), "");
}

}  // namespace
}  // namespace oemlink::testing
