// The packaging as an operator meets it: `cmake --install` into a temp prefix (every file where
// packaging/README.md says, the installed binary finding its drivers there, an edited config kept
// on reinstall), the rendered unit through `systemd-analyze verify`, and the container recipe
// read for its essentials (Docker is not available here).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kSource = OEMLINK_SOURCE_DIR;
const fs::path kBuild = OEMLINK_BINARY_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Shell {
  int rc = -1;
  std::string out, err;
};

// `cmd` under /bin/sh with stdout and stderr captured into `dir`.
Shell sh(const std::string& cmd, const fs::path& dir) {
  std::string full =
      "(" + cmd + ") >'" + (dir / "sh.out").string() + "' 2>'" + (dir / "sh.err").string() + "'";
  int status = std::system(full.c_str());
  Shell r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.out = slurp(dir / "sh.out");
  r.err = slurp(dir / "sh.err");
  return r;
}

class InstallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("oemlink-install-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    prefix_ = dir_ / "prefix";
    install_ = sh("'" CMAKE_COMMAND "' --install '" + kBuild.string() + "' --prefix '" +
                      prefix_.string() + "'",
                  dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override { ASSERT_EQ(install_.rc, 0) << install_.out << install_.err; }

  static inline fs::path dir_, prefix_;
  static inline Shell install_;
};

TEST_F(InstallTest, FilesAreWhereTheReadmeSays) {
  for (const char* f :
       {"bin/oemlink", "bin/oemlink-keyd", "libexec/oemlink/oemlink-driver-process",
        "lib/oemlink/drivers/oemlink-driver-mock.so", "lib/oemlink/drivers/oemlink-driver-tesla.so",
        "lib/oemlink/drivers/oemlink-driver-smartcar.so", "lib/systemd/system/oemlink.service",
        "etc/oemlink/oemlink.yaml", "share/doc/oemlink/README.md"})
    EXPECT_TRUE(fs::is_regular_file(prefix_ / f)) << f << " missing under " << prefix_;
  // The layout the READMEs document is the one installed.
  for (const char* readme : {"README.md", "packaging/README.md"}) {
    const std::string text = slurp(kSource / readme);
    for (const char* documented :
         {"lib/oemlink/drivers", "lib/systemd/system/oemlink.service", "etc/oemlink/oemlink.yaml",
          "bin/oemlink-keyd", "libexec/oemlink/oemlink-driver-process"})
      EXPECT_NE(text.find(documented), std::string::npos) << readme << " lacks " << documented;
  }
}

TEST_F(InstallTest, InstalledBinaryFindsItsDriversByBareName) {
  std::ofstream(dir_ / "mock.yaml")
      << "data_dir: " << (dir_ / "data").string()
      << "\ndrivers:\n  - {name: mock, library: mock}\n"
         "connections: []\nsinks: [{name: f, type: file, path: e.jsonl}]\n";
  // No OEMLINK_PLUGIN_PATH, and no build tree beside the installed binary.
  Shell r = sh("env -u OEMLINK_PLUGIN_PATH '" + (prefix_ / "bin/oemlink").string() +
                   "' plugins list --config '" + (dir_ / "mock.yaml").string() + "'",
               dir_);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find((prefix_ / "lib/oemlink/drivers/oemlink-driver-mock.so").string()),
            std::string::npos)
      << r.out;
  // The installed default configuration is valid as installed.
  r = sh("env -u OEMLINK_PLUGIN_PATH '" + (prefix_ / "bin/oemlink").string() + "' check-config '" +
             (prefix_ / "etc/oemlink/oemlink.yaml").string() + "'",
         dir_);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
}

TEST_F(InstallTest, UnitPointsAtThePrefix) {
  const std::string unit = slurp(prefix_ / "lib/systemd/system/oemlink.service");
  EXPECT_NE(unit.find("ExecStart=" + (prefix_ / "bin/oemlink").string() + " run --config " +
                      (prefix_ / "etc/oemlink/oemlink.yaml").string()),
            std::string::npos)
      << unit;
}

TEST_F(InstallTest, ReinstallKeepsAnEditedConfig) {
  const fs::path conf = prefix_ / "etc/oemlink/oemlink.yaml";
  const std::string edited = slurp(conf) + "# edited by the operator\n";
  std::ofstream(conf) << edited;
  Shell r = sh("'" CMAKE_COMMAND "' --install '" + kBuild.string() + "' --prefix '" +
                   prefix_.string() + "' --component oemlink",
               dir_);
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(slurp(conf), edited);
  EXPECT_EQ(slurp(prefix_ / "etc/oemlink/oemlink.yaml.new"),
            slurp(kSource / "packaging/oemlink.yaml"));
}

TEST_F(InstallTest, SystemdAnalyzeVerifiesTheUnit) {
  if (sh("command -v systemd-analyze", dir_).rc != 0)
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd, in "
                    "tools/install-deps.sh)";
  const fs::path unit = prefix_ / "lib/systemd/system/oemlink.service";
  Shell r = sh("systemd-analyze verify '" + unit.string() + "'", dir_);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  // Unknown keys and unparsable values are only warnings to systemd: none may name our unit.
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);)
    EXPECT_EQ(line.find("oemlink.service"), std::string::npos) << line;
}

TEST(ServiceUnit, HasTheHardeningTheIssueAsksFor) {
  const std::string unit = slurp(kSource / "packaging/oemlink.service");
  for (const char* line :
       {"Type=notify", "User=oemlink", "Group=oemlink", "StateDirectory=oemlink",
        "ProtectSystem=strict", "ReadWritePaths=/var/lib/oemlink", "NoNewPrivileges=yes",
        "LimitNOFILE=65536", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/bin/oemlink run --config /etc/oemlink/oemlink.yaml", "PrivateTmp=yes",
        "ProtectHome=yes"})
    EXPECT_NE(unit.find(std::string("\n") + line + "\n"), std::string::npos) << line;
}

// The Dockerfile's instructions, continuation lines joined, comments dropped.
std::vector<std::string> instructions(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (current.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      current += line.substr(0, line.size() - 1);
      continue;
    }
    out.push_back(current + line);
    current.clear();
  }
  return out;
}

// `COPY . .` takes the whole context: a developer's build tree would break the image's configure
// (CMakeCache.txt names another directory) and a data dir would put a sealed vault, secrets and
// an outbox into a layer.
TEST(Dockerfile, ItsContextLeavesOutBuildTreesAndDataDirs) {
  const std::string ignore = slurp(kSource / ".dockerignore");
  for (const char* entry : {"build/", "var/", ".git/"})
    EXPECT_NE(ignore.find(std::string("\n") + entry), std::string::npos)
        << ".dockerignore must list " << entry;
}

TEST(Dockerfile, HasTheEssentials) {
  const auto lines = instructions(slurp(kSource / "packaging/Dockerfile"));
  auto is = [](const std::string& l, const char* word) { return l.rfind(word, 0) == 0; };
  std::vector<size_t> froms;
  for (size_t i = 0; i < lines.size(); ++i)
    if (is(lines[i], "FROM ")) froms.push_back(i);
  ASSERT_GE(froms.size(), 2u) << "multi-stage: at least two FROM";
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(lines[froms[0]], m, std::regex(R"(\bAS\s+(\S+))", std::regex::icase)))
      << "the build stage needs a name";
  const std::string build_stage = m[1];
  EXPECT_NE(lines[froms[0]].find("debian:12"), std::string::npos) << lines[froms[0]];

  bool deps = false, installs = false;
  for (size_t i = froms[0]; i < froms[1]; ++i) {
    deps |= lines[i].find("tools/install-deps.sh") != std::string::npos;
    installs |= lines[i].find("cmake --install") != std::string::npos;
  }
  EXPECT_TRUE(deps) << "the build stage runs tools/install-deps.sh";
  EXPECT_TRUE(installs) << "the build stage runs cmake --install";

  std::string user;
  bool volume = false, binary = false, entry = false, health = false, expose = false;
  for (size_t i = froms.back(); i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (is(l, "USER ")) user = l.substr(5);
    volume |= is(l, "VOLUME") && l.find("/var/lib/oemlink") != std::string::npos;
    binary |= is(l, "COPY") && l.find("--from=" + build_stage) != std::string::npos &&
              l.find("bin/oemlink") != std::string::npos;
    entry |= (is(l, "ENTRYPOINT") || is(l, "CMD")) && l.find("oemlink") != std::string::npos;
    health |= is(l, "HEALTHCHECK") && l.find("/healthz") != std::string::npos;
    expose |= is(l, "EXPOSE");
  }
  const std::string name = user.substr(0, user.find(':'));
  EXPECT_FALSE(name.empty()) << "the final stage needs a USER";
  EXPECT_TRUE(name != "root" && name != "0") << "USER " << user;
  EXPECT_TRUE(volume) << "VOLUME on the data dir";
  EXPECT_TRUE(binary) << "the binary copied from the build stage";
  EXPECT_TRUE(entry) << "ENTRYPOINT/CMD running oemlink";
  EXPECT_TRUE(health) << "HEALTHCHECK on /healthz";
  EXPECT_TRUE(expose) << "EXPOSE of the listener ports";
}

}  // namespace
