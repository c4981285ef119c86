#include "core/cli/commands.hpp"
#include "core/cli/driver_check.hpp"
#include "core/cli/known_connections.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/pipeline/event_verifier.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace oemlink::cli {
namespace {

constexpr const char* kVerifyDetails =
    R"(Checks every event in a JSON Lines file (as written by the file sink): the signature over
the exact bytes of `data` as they appear in the line (Keccak-256, secp256k1 recovery, 65-byte
r||s||v with v 27/28 and low s). Prints one line per event and a summary. With --keys, the signer
must also be the key of the connection the event names: oemlink opens this deployment's vault
(needs its KEK) and derives the address of each connection's key_child, matched by the producer's
synthetic device. Connections are those of the connection store (<data_dir>/connections.db:
linked and API-added cars too, revoked ones included, read only) and of the configuration. A
producer of token 0 (an event made before its connection was minted) is matched by its signer
among every connection's key.
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

// Addresses are derived only when an event asks: a store may hold a million connections.
class ExpectedSigners {
 public:
  ExpectedSigners(const config::Config& cfg, std::unique_ptr<vault::KeyVault> vault)
      : vault_(std::move(vault)) {
    const std::string prefix = "did:erc721:" + std::to_string(cfg.dimo.chain_id) + ":" +
                               cfg.dimo.synthetic_device_contract + ":";
    unminted_producer_ = prefix + "0";
    for_each_known_connection(cfg, [&](const KnownConnection& c) {
      // Events made before a connection's mint carry token 0, whatever its token is now.
      unminted_.push_back({c.id, c.key_child, {}});
      if (c.synthetic_token_id != 0)
        by_producer_[prefix + std::to_string(c.synthetic_token_id)] = {c.id, c.key_child, {}};
      return true;
    });
  }

  // The connection that must have signed an event of `producer` signed by `signer`; null when no
  // connection has that producer (or, for token 0, that signer).
  const Expected* find(const std::string& producer, const crypto::Address20& signer) {
    if (producer == unminted_producer_) {
      if (!unminted_derived_) {
        for (Expected& e : unminted_) e.address = vault_->address(e.child);
        unminted_derived_ = true;
      }
      for (const Expected& e : unminted_)
        if (e.address == signer) return &e;
      return nullptr;
    }
    auto it = by_producer_.find(producer);
    if (it == by_producer_.end()) return nullptr;
    auto [d, fresh] = derived_.emplace(producer);
    if (fresh) it->second.address = vault_->address(it->second.child);
    return &it->second;
  }

 private:
  std::unique_ptr<vault::KeyVault> vault_;
  std::map<std::string, Expected> by_producer_;
  std::set<std::string> derived_;
  std::string unminted_producer_;
  std::vector<Expected> unminted_;
  bool unminted_derived_ = false;
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
  std::unique_ptr<ExpectedSigners> expected;
  if (keys) {
    try {
      config::Config cfg = load_config_or_default(o.config);
      expected = std::make_unique<ExpectedSigners>(cfg, host::open_configured_vault(cfg));
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
      const Expected* e = nullptr;
      try {
        e = expected->find(r.producer, *r.signer);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "oemlink verify --keys: %s\n", ex.what());
        return kExitFailure;
      }
      if (!e) {
        r.ok = false;
        r.reason = r.producer.ends_with(":0")
                       ? "signed by " + signer + ", the key of no known connection"
                       : "producer " + r.producer + " is not a known connection";
      } else if (e->address != *r.signer) {
        r.ok = false;
        r.reason = "signed by " + signer + ", but connection " + e->connection + " (key child " +
                   std::to_string(e->child) + ") is " + crypto::to_checksum_address(e->address);
      } else {
        signer += " (connection " + e->connection + ", key child " + std::to_string(e->child) + ")";
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
