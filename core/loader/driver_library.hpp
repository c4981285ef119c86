// Loads driver shared libraries and checks their descriptors against this host's ABI.
//
// Rules learned by other plugin hosts: load with RTLD_LOCAL (drivers must not see each other's
// symbols), RTLD_NOW (a missing symbol fails here, not mid-poll), and never unload while the
// process lives (static destructors and driver threads outlive dlclose).
#pragma once

#include <oemlink/driver.h>

#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace oemlink::loader {

class DriverLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedDriver {
  std::filesystem::path path;  // canonical
  const oemlink_driver* descriptor = nullptr;
};

// Loads `path` (or returns the already loaded library for the same file) and validates its
// descriptor. Throws DriverLoadError whose message names the file and the cause: missing file,
// not a shared library, entry symbol missing, entry returned NULL, ABI major mismatch (both
// versions shown), malformed descriptor.
LoadedDriver load_driver_library(const std::filesystem::path& path);

// The file for a configured `library` value: a value containing '/' is a path (already resolved
// by the config loader); a bare name N is looked up as oemlink-driver-N.so in `search_dirs`, in
// order. Throws DriverLoadError listing every place searched.
std::filesystem::path resolve_driver_library(const std::string& library,
                                             const std::filesystem::path& configured_path,
                                             std::span<const std::filesystem::path> search_dirs);

// Where bare driver names are looked up: $OEMLINK_PLUGIN_PATH (':'-separated), then
// <dir of the running executable>/plugins, then <exe dir>/../plugins, then the install layout's
// <exe dir>/../lib/oemlink/drivers, then <exe dir>/../lib/oemlink/plugins.
std::vector<std::filesystem::path> default_plugin_dirs();

// "poll, stream" for a capability mask.
std::string describe_capabilities(oemlink_capabilities caps);

}  // namespace oemlink::loader
