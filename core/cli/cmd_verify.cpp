#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/pipeline/event_verifier.hpp"

#include <cstdio>
#include <fstream>
#include <map>

namespace oemlink::cli {

static constexpr const char* kVerifyHelp = R"(usage: oemlink verify FILE [--keys] [--config FILE]

Checks every event in a JSON Lines file (as written by the file sink): the signature over the
exact bytes of `data` as they appear in the line (Keccak-256, secp256k1 recovery, 65-byte r||s||v
with v 27/28 and low s). Prints one line per event and a summary.

  --keys           also require the signer to be the key of the connection the event names:
                   opens this deployment's vault (needs its KEK) and derives the address of every
                   configured connection's key_child, matched by the producer's synthetic device.
  --config FILE    the configuration for --keys (default: the built-in one)

Exit status: 0 all events ok, 1 any bad event or unreadable file, 2 usage error.
)";

namespace {

struct Expected {
  std::string connection;
  uint32_t child = 0;
  crypto::Address20 address{};
};

}  // namespace

int cmd_verify(const Args& args) {
  std::string file, config_path;
  bool keys = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kVerifyHelp, stdout);
      return 0;
    } else if (args[i] == "--keys") {
      keys = true;
    } else if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (file.empty() && !args[i].empty() && args[i][0] != '-') {
      file = args[i];
    } else {
      std::fputs(kVerifyHelp, stderr);
      return 2;
    }
  }
  if (file.empty()) {
    std::fputs(kVerifyHelp, stderr);
    return 2;
  }
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "oemlink verify: cannot read %s\n", file.c_str());
    return 1;
  }

  // producer DID -> the connection (and so the key) that must have signed.
  std::map<std::string, Expected> by_producer;
  if (keys) {
    try {
      config::Config cfg = load_config_or_default(config_path);
      auto vault = host::open_configured_vault(cfg);
      std::string prefix = "did:erc721:" + std::to_string(cfg.dimo.chain_id) + ":" +
                           cfg.dimo.synthetic_device_contract + ":";
      for (const auto& c : cfg.connections)
        by_producer[prefix + std::to_string(c.synthetic_token_id)] = {c.id, c.key_child,
                                                                      vault->address(c.key_child)};
    } catch (const std::exception& e) {
      std::fprintf(stderr, "oemlink verify --keys: %s\n", e.what());
      return 1;
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
  return bad ? 1 : 0;
}

}  // namespace oemlink::cli
