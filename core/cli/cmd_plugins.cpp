#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/loader/driver_library.hpp"

#include <cstdio>

namespace oemlink::cli {

static constexpr const char* kPluginsHelp = R"(usage: oemlink plugins list [--config FILE]
       oemlink plugins info PATH|NAME

list  loads every driver library the configuration names (without creating instances or opening
      connections) and prints name, version, ABI version and capabilities. Exit 1 if any fails.
info  loads one library (a path, or a bare name looked up in the plugin directories) and prints
      its descriptor and settings table.
)";

namespace {

const char* type_name(oemlink_setting_type t) {
  switch (t) {
    case OEMLINK_SETTING_STRING:
      return "string";
    case OEMLINK_SETTING_INT:
      return "int";
    case OEMLINK_SETTING_NUMBER:
      return "number";
    case OEMLINK_SETTING_BOOL:
      return "bool";
    case OEMLINK_SETTING_DURATION_MS:
      return "duration";
    case OEMLINK_SETTING_OBJECT:
      return "object";
    default:
      return "?";
  }
}

int plugins_list(const Args& args) {
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      path = args[++i];
    } else {
      std::fputs(kPluginsHelp, stderr);
      return 2;
    }
  }
  config::Config cfg;
  try {
    cfg = load_config_or_default(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  int rc = 0;
  std::printf("%-16s %-16s %-10s %-5s %-22s %s\n", "ENTRY", "DRIVER", "VERSION", "ABI",
              "CAPABILITIES", "LIBRARY");
  for (const DriverCheck& c : check_drivers(cfg, loader::default_plugin_dirs()).drivers) {
    if (!c.descriptor) {
      std::printf("%-16s ERROR: %s\n", c.cfg->name.c_str(), c.error.c_str());
      if (!c.skipped) rc = 1;
      continue;
    }
    const oemlink_driver* d = c.descriptor;
    std::string abi = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
    std::printf("%-16s %-16s %-10s %-5s %-22s %s\n", c.cfg->name.c_str(), d->name, d->version,
                abi.c_str(), loader::describe_capabilities(d->capabilities).c_str(),
                c.path.c_str());
    if (!c.error.empty()) {
      std::printf("%-16s ERROR: %s\n", "", c.error.c_str());
      rc = 1;
    }
  }
  return rc;
}

int plugins_info(const Args& args) {
  if (args.size() != 1) {
    std::fputs(kPluginsHelp, stderr);
    return 2;
  }
  try {
    std::filesystem::path p =
        args[0].find('/') != std::string::npos
            ? std::filesystem::path(args[0])
            : loader::resolve_driver_library(args[0], {}, loader::default_plugin_dirs());
    auto loaded = loader::load_driver_library(p);
    const oemlink_driver* d = loaded.descriptor;
    std::printf(
        "name:         %s\nversion:      %s\ndescription:  %s\nABI:          %u.%u "
        "(host %d.%d)\ncapabilities: %s\nlibrary:      %s\n",
        d->name, d->version, d->description ? d->description : "", d->abi_major, d->abi_minor,
        OEMLINK_ABI_MAJOR, OEMLINK_ABI_MINOR,
        loader::describe_capabilities(d->capabilities).c_str(), loaded.path.c_str());
    std::printf("settings:%s\n", d->setting_count ? "" : " none");
    for (size_t i = 0; i < d->setting_count; ++i) {
      const oemlink_setting& s = d->settings[i];
      std::string flags;
      if (s.flags & OEMLINK_SETTING_REQUIRED) flags += " required";
      if (s.flags & OEMLINK_SETTING_SECRET) flags += " secret";
      std::printf("  %-26s %-9s%s%s%s\n      %s\n", s.name, type_name(s.type), flags.c_str(),
                  s.default_value ? "  default: " : "", s.default_value ? s.default_value : "",
                  s.description ? s.description : "");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace

int cmd_plugins(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kPluginsHelp, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "list") return plugins_list(rest);
  if (args[0] == "info") return plugins_info(rest);
  std::fprintf(stderr, "oemlink plugins: unknown subcommand '%s'\n\n%s", args[0].c_str(),
               kPluginsHelp);
  return 2;
}

}  // namespace oemlink::cli
