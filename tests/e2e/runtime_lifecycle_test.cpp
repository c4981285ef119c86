// The running daemon's ConnectionControl end to end: the real Runtime with the mock driver, the
// connection store, the in-process vault and its child registry. A connection added live polls
// and signs with its own fresh key child; revoked live, it stops, its secrets leave the files and
// its child never signs again. Time is real but short.
//
// Needs the connection store (store::ConnectionStore) and KeyVault::claim_next: add this file to
// runtime_tests' SOURCES once both are merged.
#include "core/crypto/keccak.hpp"
#include "core/crypto/secp256k1_signer.hpp"
#include "core/host/connection_control.hpp"
#include "core/host/runtime.hpp"
#include "core/store/connection_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct SignedEvents : pipeline::EventSink {
  std::mutex mu;
  std::vector<pipeline::Event> events;
  std::string_view name() const override { return "signed-events"; }
  bool append(const pipeline::Event& e) override {
    std::lock_guard lock(mu);
    events.push_back(e);
    return true;
  }
  void flush() override {}
  // Signers of the events whose subject ends with ":<vehicle token id>".
  std::vector<std::string> signers_of(uint64_t vehicle_token_id) {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    std::string tail = ":" + std::to_string(vehicle_token_id);
    for (auto& e : events) {
      std::string_view subject = e.subject();
      if (subject.size() < tail.size() || subject.substr(subject.size() - tail.size()) != tail)
        continue;
      auto j = boost::json::parse(e.json).as_object();
      auto sig = crypto::parse_signature_hex(j.at("signature").as_string());
      auto a = sig ? crypto::recover_address(crypto::keccak256(e.data()), *sig) : std::nullopt;
      out.push_back(a ? crypto::to_checksum_address(*a) : "(unrecoverable)");
    }
    return out;
  }
};

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string sealed_value(const fs::path& db_file, const std::string& owner) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT value FROM secrets WHERE connection = ?1", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, owner.data(), static_cast<int>(owner.size()), SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
      out.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                 static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

class RuntimeLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oemlink-rtl-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RuntimeLifecycleTest, AConnectionAddedLivePollsSignsAndIsRevokedWithoutARestart) {
  const std::string token = "rt-live-UNIQUE-7c1d5e0b";
  std::string y = "data_dir: " + dir_.string() + "\nhttp: {allow_plain_http: true}\n" +
                  "vault: {create_if_missing: true, kek: {file: " + (dir_ / "kek").string() +
                  "}}\nschedule: {shutdown_timeout: 5s}\n" +
                  "drivers:\n  - {name: mock, library: mock, poll_interval: 100ms}\n" +
                  "connections:\n  - {id: yaml-1, driver: mock, vin: 5YJ3E1EA7KF100001, "
                  "vehicle_token_id: 1, key_child: 1}\n";
  SignedEvents sink;
  RuntimeOptions o = default_runtime_options();
  o.plugin_dirs = {OEMLINK_PLUGIN_DIR, OEMLINK_TEST_PLUGIN_DIR};
  o.handle_signals = false;
  o.extra_sinks = {&sink};
  o.stats_interval = 0ms;
  o.duration = 20s;  // a safety net: the test stops the runtime itself
  Runtime rt(config::load_config_text(y, "<test>", dir_), o);
  rt.start();

  std::optional<ControlResult> added, revoked;
  std::string sealed_before, address_after;
  size_t events_at_revoke = 0;
  boost::asio::steady_timer later(rt.io());
  boost::asio::post(rt.io(), [&] {
    NewConnection n;
    n.id = "live-1";
    n.driver = "mock";
    n.vin = "5YJ3E1EA7KF200002";
    n.vehicle_token_id = 777;
    n.secrets.add("refresh_token", token);
    std::vector<NewConnection> v;
    v.push_back(std::move(n));
    rt.connections().add(std::move(v), [&](ControlResult r) {
      added = std::move(r);
      sealed_before = sealed_value(dir_ / "secrets.db", "driver:mock/conn:live-1");
      // Let it poll for a second, then revoke it.
      later.expires_after(1s);
      later.async_wait([&](auto) {
        rt.connections().revoke("live-1", "owner unlinked", [&](ControlResult r2) {
          revoked = std::move(r2);
          events_at_revoke = sink.signers_of(777).size();
          // The vault answers nothing for a retired child.
          if (auto found = rt.connections().find("live-1")) address_after = found->device_address;
          // A second later: nothing more from it; stop.
          later.expires_after(1s);
          later.async_wait([&](auto) { rt.request_stop(); });
        });
      });
    });
  });
  EXPECT_EQ(rt.run(), 0);

  ASSERT_TRUE(added && added->ok()) << (added ? added->message : "add never answered");
  ASSERT_EQ(added->connections.size(), 1u);
  const ConnectionView& v = added->connections[0];
  EXPECT_GT(v.key_child, 1u) << "a fresh child above every claimed one";
  ASSERT_FALSE(v.device_address.empty());
  std::vector<std::string> signers = sink.signers_of(777);
  ASSERT_GE(signers.size(), 3u) << "polled every 100 ms for a second";
  for (auto& s : signers) EXPECT_EQ(s, v.device_address);

  ASSERT_TRUE(revoked && revoked->ok()) << (revoked ? revoked->message : "revoke never answered");
  EXPECT_EQ(revoked->connections[0].state, ConnectionState::revoked);
  EXPECT_EQ(sink.signers_of(777).size(), events_at_revoke) << "events after the revocation";
  EXPECT_EQ(rt.connection_store().get("live-1")->state, "revoked");
  EXPECT_EQ(address_after, "") << "the retired child still has an address in the vault";

  ASSERT_GT(sealed_before.size(), 16u) << "the token was stored sealed";
  std::string files = file_bytes(dir_ / "secrets.db") + file_bytes(dir_ / "secrets.db-wal");
  EXPECT_EQ(files.find(sealed_before), std::string::npos) << "sealed token left in secrets.db";
  EXPECT_EQ(files.find(token), std::string::npos);
}

}  // namespace
}  // namespace oemlink::host
