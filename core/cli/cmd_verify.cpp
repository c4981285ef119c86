#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/pipeline/event_verifier.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

namespace oemlink::cli {
namespace {

constexpr const char* kVerifyDetails =
    R"(Checks every event in a JSON Lines file (as written by the file sink): the signature over
the exact bytes of `data` as they appear in the line (Keccak-256, secp256k1 recovery, 65-byte
r||s||v with v 27/28 and low s). Prints one line per event and a summary. With --keys, the signer
must also be the key of the connection the event names: oemlink opens this deployment's vault
(needs its KEK) and derives the address of every configured connection's key_child, matched by
the producer's synthetic device.
Exit status: 0 all events ok, 1 any bad event or unreadable file, 2 usage error.)";

struct VerifyOptions {
  std::string file, config;
  bool keys = false;
};

struct Expected {
  std::string connection;
  uint32_t child = 0;
  crypto::Address20 address{};
};

int verify(const VerifyOptions& o) {
  const std::string& file = o.file;
  const bool keys = o.keys;
  // Events are lines of a file; a directory, a FIFO or a device (/dev/zero has no line end and
  // would be read forever) is not one.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    std::fprintf(stderr, "oemlink verify: %s is not a regular file\n", file.c_str());
    return kExitFailure;
  }
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "oemlink verify: cannot read %s\n", file.c_str());
    return kExitFailure;
  }

  // producer DID -> the connection (and so the key) that must have signed.
  std::map<std::string, Expected> by_producer;
  if (keys) {
    try {
      config::Config cfg = load_config_or_default(o.config);
      auto vault = host::open_configured_vault(cfg);
      std::string prefix = "did:erc721:" + std::to_string(cfg.dimo.chain_id) + ":" +
                           cfg.dimo.synthetic_device_contract + ":";
      for (const auto& c : cfg.connections)
        by_producer[prefix + std::to_string(c.synthetic_token_id)] = {c.id, c.key_child,
                                                                      vault->address(c.key_child)};
    } catch (const std::exception& e) {
      std::fprintf(stderr, "oemlink verify --keys: %s\n", e.what());
      return kExitFailure;
    }
  }

  size_t ok = 0, bad = 0, line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    pipeline::VerifyResult r = pipeline::verify_event_line(line);
    std::string signer = r.signer ? crypto::to_checksum_address(*r.signer) : "";
    if (r.ok && keys) {
      auto it = by_producer.find(r.producer);
      if (it == by_producer.end()) {
        r.ok = false;
        r.reason = "producer " + r.producer + " is not a configured connection";
      } else if (it->second.address != *r.signer) {
        r.ok = false;
        r.reason = "signed by " + signer + ", but connection " + it->second.connection +
                   " (key child " + std::to_string(it->second.child) + ") is " +
                   crypto::to_checksum_address(it->second.address);
      } else {
        signer += " (connection " + it->second.connection + ", key child " +
                  std::to_string(it->second.child) + ")";
      }
    }
    if (r.ok) {
      ++ok;
      std::printf("ok   line %zu  %s  signer %s\n", line_no, r.id.c_str(), signer.c_str());
    } else {
      ++bad;
      std::printf("BAD  line %zu  %s  %s\n", line_no, r.id.empty() ? "-" : r.id.c_str(),
                  r.reason.c_str());
    }
  }
  std::printf("%zu events: %zu ok, %zu bad\n", ok + bad, ok, bad);
  return bad ? kExitFailure : kExitOk;
}

}  // namespace

void add_verify_command(CommandLine& cli) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd =
      cli.add_command(cli.app(), "verify",
                      "check the signature of every event in a JSON Lines file", kVerifyDetails);
  cmd->add_option("FILE", o->file, "events as the file sink writes them")->required();
  cmd->add_flag("--keys", o->keys, "also require each event's signer to be its connection's key");
  add_config_option(*cmd, o->config, "the configuration for --keys (default: the built-in one)");
  cli.on(cmd, [o] { return verify(*o); });
}

}  // namespace oemlink::cli
