#include "core/loader/driver_library.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>

namespace oemlink::loader {
namespace fs = std::filesystem;

namespace {

// Libraries stay loaded for the life of the process; the map itself is never destroyed so no
// dlclose runs at exit either.
struct LibraryTable {
  std::mutex mu;
  std::map<fs::path, std::pair<boost::dll::shared_library, const oemlink_driver*>> by_path;
  std::map<std::string, fs::path> by_name;
  // Libraries whose descriptor was refused: their entry function has run, so their static
  // state exists; unloading them would run destructors the driver never expected.
  std::vector<boost::dll::shared_library> rejected;
};
LibraryTable& table() {
  static auto* t = new LibraryTable();
  return *t;
}

bool looks_like_elf(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

void check_descriptor(const fs::path& path, const oemlink_driver* d) {
  auto fail = [&](const std::string& why) {
    throw DriverLoadError("driver library " + path.string() + ": " + why);
  };
  constexpr size_t kV1Size = offsetof(oemlink_driver, get_extension) + sizeof(void*);
  if (d->abi_major != OEMLINK_ABI_MAJOR) {
    fail("ABI version mismatch: driver built for ABI " + std::to_string(d->abi_major) + "." +
         std::to_string(d->abi_minor) + ", this host speaks ABI " +
         std::to_string(OEMLINK_ABI_MAJOR) + "." + std::to_string(OEMLINK_ABI_MINOR) +
         " (rebuild the driver against a matching oemlink SDK)");
  }
  if (d->struct_size < kV1Size) {
    fail("descriptor struct_size " + std::to_string(d->struct_size) + " is smaller than ABI " +
         std::to_string(OEMLINK_ABI_MAJOR) + ".0 requires (" + std::to_string(kV1Size) + ")");
  }
  static const std::regex kName("[a-z0-9_-]{1,64}");
  if (!d->name || !std::regex_match(d->name, kName))
    fail("descriptor name must match [a-z0-9_-]{1,64}");
  if (!d->version || !*d->version) fail("driver '" + std::string(d->name) + "' has no version");
  if (!d->create || !d->destroy || !d->open || !d->close)
    fail("driver '" + std::string(d->name) + "' lacks one of create/destroy/open/close");
  auto caps = d->capabilities;
  if (!(caps & (OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM | OEMLINK_CAP_WEBHOOK)))
    fail("driver '" + std::string(d->name) + "' declares no capability (poll, stream, webhook)");
  if ((caps & OEMLINK_CAP_POLL) && !d->poll)
    fail("driver '" + std::string(d->name) + "' declares poll but has no poll function");
  if ((caps & OEMLINK_CAP_STREAM) && (!d->stream_start || !d->stream_stop))
    fail("driver '" + std::string(d->name) + "' declares stream but lacks stream_start/stop");
  if ((caps & OEMLINK_CAP_WEBHOOK) && !d->webhook)
    fail("driver '" + std::string(d->name) + "' declares webhook but has no webhook function");
  if (d->setting_count && !d->settings)
    fail("driver '" + std::string(d->name) + "' has setting_count but no settings table");
}

}  // namespace

LoadedDriver load_driver_library(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw DriverLoadError("driver library " + path.string() + ": file not found");
  if (!fs::is_regular_file(path, ec))
    throw DriverLoadError("driver library " + path.string() + ": not a regular file");
  fs::path canonical = fs::canonical(path, ec);
  if (ec) canonical = fs::absolute(path);

  LibraryTable& t = table();
  std::lock_guard lock(t.mu);
  if (auto it = t.by_path.find(canonical); it != t.by_path.end())
    return {canonical, it->second.second};

  if (!looks_like_elf(canonical))
    throw DriverLoadError("driver library " + path.string() +
                          ": not a shared library (no ELF header)");
  boost::dll::shared_library lib;
  try {
    lib.load(canonical, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {
    // Boost.DLL's message carries dlopen's own words (undefined symbol, wrong ELF class, ...).
    throw DriverLoadError("driver library " + path.string() + ": cannot be loaded: " + e.what());
  }
  if (!lib.has(OEMLINK_DRIVER_ENTRY_SYMBOL))
    throw DriverLoadError("driver library " + path.string() + ": entry symbol '" +
                          OEMLINK_DRIVER_ENTRY_SYMBOL +
                          "' not found (is it exported with OEMLINK_EXPORT / extern \"C\"?)");
  // From here on the entry function runs: whatever happens, the library stays loaded.
  struct KeepLoaded {
    LibraryTable& t;
    boost::dll::shared_library& lib;
    bool accepted = false;
    ~KeepLoaded() {
      if (!accepted) t.rejected.push_back(std::move(lib));
    }
  } keep{t, lib};
  auto entry = lib.get<std::remove_pointer_t<oemlink_driver_entry_fn>>(OEMLINK_DRIVER_ENTRY_SYMBOL);
  const oemlink_driver* d = entry(OEMLINK_ABI_MAJOR, OEMLINK_ABI_MINOR);
  if (!d)
    throw DriverLoadError("driver library " + path.string() + ": " + OEMLINK_DRIVER_ENTRY_SYMBOL +
                          " returned NULL for host ABI " + std::to_string(OEMLINK_ABI_MAJOR) + "." +
                          std::to_string(OEMLINK_ABI_MINOR));
  check_descriptor(path, d);
  if (auto it = t.by_name.find(d->name); it != t.by_name.end())
    throw DriverLoadError("driver library " + path.string() + ": duplicate driver name '" +
                          d->name + "', already loaded from " + it->second.string());
  keep.accepted = true;
  t.by_name.emplace(d->name, canonical);
  t.by_path.emplace(canonical, std::make_pair(std::move(lib), d));
  return {canonical, d};
}

fs::path resolve_driver_library(const std::string& library, const fs::path& configured_path,
                                std::span<const fs::path> search_dirs) {
  if (library.find('/') != std::string::npos)
    return configured_path.empty() ? fs::path(library) : configured_path;
  std::string file = "oemlink-driver-" + library + ".so";
  std::string searched;
  for (const fs::path& dir : search_dirs) {
    fs::path candidate = dir / file;
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
    searched += "\n  " + candidate.string();
  }
  throw DriverLoadError("driver library '" + library + "': " + file +
                        " not found; searched:" + (searched.empty() ? " (nowhere)" : searched) +
                        "\n(set OEMLINK_PLUGIN_PATH or give a path)");
}

std::vector<fs::path> default_plugin_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("OEMLINK_PLUGIN_PATH")) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / "plugins");
    dirs.push_back(exe.parent_path().parent_path() / "plugins");
    // The install layout (`cmake --install`): <prefix>/bin/oemlink, <prefix>/lib/oemlink/drivers.
    dirs.push_back(exe.parent_path().parent_path() / "lib" / "oemlink" / "drivers");
    dirs.push_back(exe.parent_path().parent_path() / "lib" / "oemlink" / "plugins");
  }
  return dirs;
}

std::string describe_capabilities(oemlink_capabilities caps) {
  std::string out;
  auto add = [&](const char* s) { out += out.empty() ? s : std::string(", ") + s; };
  if (caps & OEMLINK_CAP_POLL) add("poll");
  if (caps & OEMLINK_CAP_STREAM) add("stream");
  if (caps & OEMLINK_CAP_WEBHOOK) add("webhook");
  return out.empty() ? "none" : out;
}

}  // namespace oemlink::loader
