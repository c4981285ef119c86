#include "core/store/connection_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "tests/store/store_test_util.hpp"

namespace oemlink::store {
namespace {

using testing::RawDb;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr int64_t kNow = 1'764'570'000'000;  // 2025-12-01T06:20:00Z

config::ConnectionConfig yaml_conn(std::string id, uint32_t child, std::string vin = "") {
  config::ConnectionConfig c;
  c.id = std::move(id);
  c.driver = "tesla";
  c.vin = std::move(vin);
  c.key_child = child;
  return c;
}

StoredConnection linked(std::string id, uint32_t child, std::string vehicle_id,
                        std::string vin = "") {
  StoredConnection r;
  r.id = std::move(id);
  r.driver = "tesla";
  r.vehicle_id = std::move(vehicle_id);
  r.vin = std::move(vin);
  r.key_child = child;
  r.source = "linked";
  r.created_ms = r.changed_ms = kNow;
  return r;
}

std::vector<std::string> ids_of(ConnectionStore& s) {
  std::vector<std::string> out;
  s.for_each([&](const StoredConnection& r) {
    out.push_back(r.id);
    return true;
  });
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConnectionStoreError& e) {
    return e.what();
  }
  return "";
}

class ConnectionStoreTest : public ::testing::Test {
 protected:
  fs::path db_path() const { return dir_.path() / "data" / "connections.db"; }
  std::unique_ptr<ConnectionStore> open() { return std::make_unique<ConnectionStore>(db_path()); }

  TempDir dir_;
};

TEST_F(ConnectionStoreTest, CreatesPrivateFilesWithWalAndSchemaVersion) {
  ::umask(022);
  auto s = open();
  ASSERT_TRUE(s->insert(std::vector{linked("a", 1, "v1")})[0].empty());
  struct stat st {};
  ASSERT_EQ(::stat(db_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(db_path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((db_path().string() + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RawDb raw(db_path());
  EXPECT_EQ(raw.count("SELECT value FROM meta WHERE key='schema_version'"), 1);
  EXPECT_EQ(s->path(), db_path());
}

TEST_F(ConnectionStoreTest, InsertAndGetRoundTripEveryField) {
  auto s = open();
  StoredConnection r = linked("car-1", 7, "1492931190", "5YJ3E1EA7KF000001");
  r.display_name = "Model 3";
  r.identifiers_json = R"({"tesla_id":"1492931190"})";
  r.vehicle_token_id = 42;
  r.synthetic_token_id = 43;
  r.poll_interval_ms = 30'000;
  r.state = "needs_reauth";
  r.reason = "refresh token rejected";
  r.changed_ms = kNow + 5;
  r.mint_json = R"({"a":1})";
  ASSERT_EQ(s->insert(std::vector{r}), std::vector<std::string>{""});
  auto got = s->get("car-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->driver, "tesla");
  EXPECT_EQ(got->vehicle_id, "1492931190");
  EXPECT_EQ(got->vin, "5YJ3E1EA7KF000001");
  EXPECT_EQ(got->display_name, "Model 3");
  EXPECT_EQ(got->identifiers_json, r.identifiers_json);
  EXPECT_EQ(got->vehicle_token_id, 42u);
  EXPECT_EQ(got->synthetic_token_id, 43u);
  EXPECT_EQ(got->key_child, 7u);
  EXPECT_EQ(got->poll_interval_ms, 30'000);
  EXPECT_EQ(got->state, "needs_reauth");
  EXPECT_EQ(got->reason, "refresh token rejected");
  EXPECT_EQ(got->changed_ms, kNow + 5);
  EXPECT_EQ(got->created_ms, kNow);
  EXPECT_EQ(got->source, "linked");
  EXPECT_EQ(got->mint_json, R"({"a":1})");
  EXPECT_FALSE(s->get("car-2"));
  // Unknown token ids and the driver's interval are NULL on disk, 0 in the row.
  ASSERT_TRUE(s->insert(std::vector{linked("car-2", 8, "v2")})[0].empty());
  RawDb raw(db_path());
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM connections WHERE id='car-2' AND "
                      "vehicle_token_id IS NULL AND poll_interval_ms IS NULL"),
            1);
  EXPECT_EQ(s->get("car-2")->vehicle_token_id, 0u);
}

TEST_F(ConnectionStoreTest, InsertRefusesDuplicatesNamingTheExistingConnection) {
  auto s = open();
  ASSERT_TRUE(s->insert(std::vector{linked("a", 1, "veh-1", "VIN00000000000001")})[0].empty());
  std::vector<StoredConnection> batch{
      linked("a", 2, "veh-9"),                       // id taken
      linked("b", 1, "veh-2"),                       // key child taken
      linked("c", 3, "veh-1"),                       // same car by vehicle id
      linked("d", 4, "veh-4", "VIN00000000000001"),  // same car by VIN
      linked("e", 5, "veh-5", "VIN00000000000005"),  // fine
      linked("f", 6, "veh-5"),                       // same car as the row just before
  };
  std::vector<std::string> why = s->insert(batch);
  ASSERT_EQ(why.size(), 6u);
  EXPECT_EQ(why[0], "connection a exists (linked, active)");
  EXPECT_EQ(why[1], "key child 1 belongs to connection a");
  EXPECT_EQ(why[2], "vehicle veh-1 of driver tesla already has connection a (active)");
  EXPECT_EQ(why[3], "VIN VIN00000000000001 of driver tesla already has connection a (active)");
  EXPECT_EQ(why[4], "");
  EXPECT_EQ(why[5], "vehicle veh-5 of driver tesla already has connection e (active)");
  EXPECT_EQ(ids_of(*s), (std::vector<std::string>{"a", "e"}));
  // Another driver may have a car with the same maker id.
  StoredConnection other = linked("g", 7, "veh-1", "VIN00000000000001");
  other.driver = "smartcar";
  EXPECT_EQ(s->insert(std::vector{other})[0], "");
}

TEST_F(ConnectionStoreTest, PartialUniqueIndexesHoldInTheDatabaseItself) {
  auto s = open();
  ASSERT_TRUE(s->insert(std::vector{linked("a", 1, "veh-1", "VIN00000000000001")})[0].empty());
  RawDb raw(db_path());
  // A writer that is not this class is refused too.
  EXPECT_EQ(raw.count("INSERT INTO connections(id, driver, vehicle_id, key_child, state, source)"
                      " VALUES('x', 'tesla', 'veh-1', 50, 'active', 'api') RETURNING 1"),
            -1);
  EXPECT_EQ(raw.count("SELECT COUNT(*) FROM connections"), 1);
  // Empty vehicle ids and VINs are not cars: any number of them.
  ASSERT_EQ(s->insert(std::vector{linked("b", 2, ""), linked("c", 3, "")}),
            (std::vector<std::string>{"", ""}));
  // Once revoked, the car may be linked again (a new connection, a new key child).
  ASSERT_TRUE(s->set_state("a", "revoked", "owner left", kNow));
  EXPECT_EQ(s->insert(std::vector{linked("a2", 4, "veh-1", "VIN00000000000001")})[0], "");
  EXPECT_FALSE(s->find_vehicle("tesla", "veh-1", "")->id.empty());
  EXPECT_EQ(s->find_vehicle("tesla", "veh-1", "")->id, "a2");
}

TEST_F(ConnectionStoreTest, FindVehicleByMakerIdThenVin) {
  auto s = open();
  config::ConnectionConfig y = yaml_conn("yaml-car", 1, "VIN00000000000001");
  s->reconcile_config(std::span(&y, 1), kNow);
  ASSERT_TRUE(s->insert(std::vector{linked("l", 2, "veh-2", "VIN00000000000002")})[0].empty());
  EXPECT_EQ(s->find_vehicle("tesla", "veh-2", "")->id, "l");
  // The YAML connection has no maker id: linking the same car finds it by VIN.
  EXPECT_EQ(s->find_vehicle("tesla", "veh-1", "VIN00000000000001")->id, "yaml-car");
  EXPECT_FALSE(s->find_vehicle("tesla", "veh-3", "VIN00000000000003"));
  EXPECT_FALSE(s->find_vehicle("smartcar", "veh-2", "VIN00000000000002"));
  EXPECT_FALSE(s->find_vehicle("tesla", "", ""));
  ASSERT_TRUE(s->set_state("l", "revoked", "", kNow));
  EXPECT_FALSE(s->find_vehicle("tesla", "veh-2", "VIN00000000000002"));
}

TEST_F(ConnectionStoreTest, ReconcileInsertsUpdatesRemovesAndKeepsState) {
  auto s = open();
  std::vector<config::ConnectionConfig> yaml{yaml_conn("c", 3, "VIN00000000000003"),
                                             yaml_conn("a", 1, "VIN00000000000001"),
                                             yaml_conn("b", 2, "VIN00000000000002")};
  ReconcileReport r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.inserted, 3u);
  EXPECT_EQ(r.updated + r.unchanged + r.removed, 0u);
  EXPECT_TRUE(r.refused.empty());
  // Rows follow the YAML's order (the runtime's indexes do too).
  EXPECT_EQ(ids_of(*s), (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(s->get("a")->source, "config");
  EXPECT_EQ(s->get("a")->state, "active");
  EXPECT_EQ(s->get("a")->created_ms, kNow);

  // Same YAML again: nothing changes.
  r = s->reconcile_config(yaml, kNow + 1);
  EXPECT_EQ(r.unchanged, 3u);
  EXPECT_EQ(r.inserted + r.updated + r.removed, 0u);

  // An operator paused b; the next start's YAML changes b, drops c and adds d.
  ASSERT_TRUE(s->set_state("b", "paused", "maintenance", kNow + 2));
  ASSERT_TRUE(s->set_tokens("a", 100, 200));
  yaml.erase(yaml.begin());
  yaml[1].vin = "VIN0000000000002X";
  yaml[1].identifiers = {{"tesla_id", "q\"x"}};
  yaml[1].poll_interval = std::chrono::milliseconds(5000);
  yaml[1].vehicle_token_id = 77;
  yaml.push_back(yaml_conn("d", 4));
  r = s->reconcile_config(yaml, kNow + 3);
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_TRUE(r.refused.empty());
  EXPECT_FALSE(s->get("c"));
  auto b = s->get("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state, "paused");  // the YAML never sets the state
  EXPECT_EQ(b->reason, "maintenance");
  EXPECT_EQ(b->vin, "VIN0000000000002X");
  EXPECT_EQ(b->identifiers_json, R"({"tesla_id":"q\"x"})");
  EXPECT_EQ(b->poll_interval_ms, 5000);
  EXPECT_EQ(b->vehicle_token_id, 77u);
  // The YAML gives no token ids for a: the ones recorded with set_tokens stay.
  EXPECT_EQ(s->get("a")->vehicle_token_id, 100u);
  EXPECT_EQ(s->get("a")->synthetic_token_id, 200u);
  EXPECT_EQ(ids_of(*s), (std::vector<std::string>{"a", "b", "d"}));

  // Only "config" rows are the YAML's to remove.
  ASSERT_TRUE(s->insert(std::vector{linked("l", 9, "veh-9")})[0].empty());
  r = s->reconcile_config({}, kNow + 4);
  EXPECT_EQ(r.removed, 3u);
  EXPECT_EQ(ids_of(*s), (std::vector<std::string>{"l"}));
}

TEST_F(ConnectionStoreTest, RevokedRowsAreNeverRevivedByTheYaml) {
  auto s = open();
  std::vector<config::ConnectionConfig> yaml{yaml_conn("a", 1, "VIN00000000000001")};
  s->reconcile_config(yaml, kNow);
  ASSERT_TRUE(s->set_state("a", "revoked", "stolen", kNow));
  ReconcileReport r = s->reconcile_config(yaml, kNow + 1);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0], "a: revoked at 2025-12-01T06:20:00Z: remove it from the config");
  EXPECT_EQ(s->get("a")->state, "revoked");
  // Dropped from the YAML, the revoked row stays, so adding the id back is still refused.
  r = s->reconcile_config({}, kNow + 2);
  EXPECT_EQ(r.removed, 0u);
  r = s->reconcile_config(yaml, kNow + 3);
  EXPECT_EQ(r.inserted, 0u);
  EXPECT_EQ(r.refused.size(), 1u);
  // And the store itself refuses to bring it back.
  EXPECT_NE(error_of([&] { s->set_state("a", "active", "", kNow); }).find("was revoked at"),
            std::string::npos);
  EXPECT_TRUE(s->set_state("a", "revoked", "again", kNow));
  EXPECT_EQ(s->get("a")->reason, "stolen");
}

TEST_F(ConnectionStoreTest, ReconcileRefusesWhatBelongsToOthers) {
  auto s = open();
  ASSERT_EQ(s->insert(std::vector{linked("linked-1", 5, "veh-5", "VIN00000000000005"),
                                  linked("linked-2", 6, "veh-6")}),
            (std::vector<std::string>{"", ""}));
  std::vector<config::ConnectionConfig> yaml{
      yaml_conn("linked-1", 1),                 // id of a linked connection
      yaml_conn("y1", 6),                       // key child of linked-2
      yaml_conn("y2", 2, "VIN00000000000005"),  // car of linked-1
      yaml_conn("y3", 3, "VIN00000000000003"),  // fine
      yaml_conn("y4", 4, "VIN00000000000003"),  // same car as y3
  };
  ReconcileReport r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.inserted, 1u);
  ASSERT_EQ(r.refused.size(), 4u);
  EXPECT_EQ(r.refused[0],
            "linked-1: the id belongs to a linked connection (active); give the YAML connection "
            "another id");
  EXPECT_EQ(r.refused[1], "y1: key child 6 belongs to connection linked-2");
  EXPECT_EQ(r.refused[2],
            "y2: VIN VIN00000000000005 of driver tesla already has connection linked-1 (active)");
  EXPECT_EQ(r.refused[3],
            "y4: VIN VIN00000000000003 of driver tesla already has connection y3 (active)");
  EXPECT_EQ(r.refused_at, (std::vector<size_t>{0, 1, 2, 4}));  // indexes into the YAML
  EXPECT_EQ(s->get("linked-1")->source, "linked");
  EXPECT_EQ(s->get("linked-1")->key_child, 5u);

  // A change that would take another row's VIN is refused; the row stays as stored.
  yaml = {yaml_conn("y3", 3, "VIN00000000000005")};
  r = s->reconcile_config(yaml, kNow);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0],
            "y3: change not taken, the stored connection is kept: VIN VIN00000000000005 of "
            "driver tesla already has connection linked-1 (active)");
  EXPECT_EQ(s->get("y3")->vin, "VIN00000000000003");
  EXPECT_EQ(r.updated, 0u);
}

TEST_F(ConnectionStoreTest, ReconcileTakesTheFirstOfARepeatedId) {
  auto s = open();
  std::vector<config::ConnectionConfig> yaml{yaml_conn("b", 1), yaml_conn("a", 2),
                                             yaml_conn("a", 3), yaml_conn("c", 4)};
  ReconcileReport r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.inserted, 3u);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0], "a: listed twice in the config");
  EXPECT_EQ(r.refused_at, std::vector<size_t>{2});
  EXPECT_EQ(s->get("a")->key_child, 2u);
  EXPECT_EQ(ids_of(*s), (std::vector<std::string>{"b", "a", "c"}));
}

TEST_F(ConnectionStoreTest, ReconcileFreesWhatRemovedRowsHeldBeforeInserting) {
  auto s = open();
  std::vector<config::ConnectionConfig> yaml{yaml_conn("old", 1, "VIN00000000000001")};
  s->reconcile_config(yaml, kNow);
  // The car moved to a new id (and a new key child) in the YAML.
  yaml = {yaml_conn("new", 2, "VIN00000000000001")};
  ReconcileReport r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_TRUE(r.refused.empty());
}

TEST_F(ConnectionStoreTest, StateTokensAndMintOnce) {
  auto s = open();
  ASSERT_TRUE(s->insert(std::vector{linked("a", 1, "veh-1")})[0].empty());
  EXPECT_FALSE(s->set_state("zz", "paused", "", kNow));
  EXPECT_TRUE(s->set_state("a", "paused", "by operator", kNow + 9));
  EXPECT_EQ(s->get("a")->state, "paused");
  EXPECT_EQ(s->get("a")->changed_ms, kNow + 9);

  EXPECT_FALSE(s->set_tokens("zz", 1, 2));
  EXPECT_TRUE(s->set_tokens("a", 11, 0));
  EXPECT_TRUE(s->set_tokens("a", 0, 22));
  EXPECT_EQ(s->get("a")->vehicle_token_id, 11u);
  EXPECT_EQ(s->get("a")->synthetic_token_id, 22u);

  EXPECT_FALSE(s->set_mint_once("zz", "{}"));
  EXPECT_EQ(s->set_mint_once("a", R"({"first":1})"), R"({"first":1})");
  EXPECT_EQ(s->set_mint_once("a", R"({"second":2})"), R"({"first":1})");
  EXPECT_EQ(s->get("a")->mint_json, R"({"first":1})");
}

TEST_F(ConnectionStoreTest, PagesByIdWithoutOffsetAndCountsByState) {
  auto s = open();
  std::vector<StoredConnection> rows;
  // Inserted out of id order: pages follow the id, for_each the insertion.
  for (int i : {5, 1, 4, 2, 3, 0}) {
    rows.push_back(linked("car-" + std::to_string(i), static_cast<uint32_t>(i + 1),
                          "veh-" + std::to_string(i)));
    if (i % 2) rows.back().state = "paused";
  }
  ASSERT_EQ(s->insert(rows), std::vector<std::string>(6));
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = s->page(after, 4, "");
    if (page.empty()) break;
    EXPECT_LE(page.size(), 4u);
    for (auto& r : page) seen.push_back(r.id);
    after = page.back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"car-0", "car-1", "car-2", "car-3", "car-4", "car-5"}));
  auto paused = s->page("car-1", 10, "paused");
  ASSERT_EQ(paused.size(), 2u);
  EXPECT_EQ(paused[0].id, "car-3");
  EXPECT_EQ(paused[1].id, "car-5");
  EXPECT_EQ(s->count(), 6u);
  EXPECT_EQ(s->count("paused"), 3u);
  EXPECT_EQ(s->count("revoked"), 0u);
  ASSERT_TRUE(s->set_state("car-0", "revoked", "", kNow));
  EXPECT_EQ(s->count_live(), 5u);
  EXPECT_EQ(s->counts_by_state(),
            (std::map<std::string, size_t>{{"active", 2}, {"paused", 3}, {"revoked", 1}}));
  EXPECT_EQ(ids_of(*s),
            (std::vector<std::string>{"car-5", "car-1", "car-4", "car-2", "car-3", "car-0"}));
}

TEST_F(ConnectionStoreTest, ForEachStopsAndMayReadAndWriteFromItsCallback) {
  auto s = open();
  ASSERT_EQ(
      s->insert(std::vector{linked("a", 1, "v1"), linked("b", 2, "v2"), linked("c", 3, "v3")}),
      std::vector<std::string>(3));
  size_t calls = 0;
  s->for_each([&](const StoredConnection& r) {
    ++calls;
    EXPECT_EQ(s->get(r.id)->key_child, r.key_child);
    EXPECT_TRUE(s->set_state(r.id, "paused", "", kNow));
    return r.id != "b";
  });
  EXPECT_EQ(calls, 2u);
  EXPECT_EQ(s->count("paused"), 2u);
}

TEST_F(ConnectionStoreTest, SurvivesReopen) {
  {
    auto s = open();
    std::vector<config::ConnectionConfig> yaml{yaml_conn("a", 1)};
    s->reconcile_config(yaml, kNow);
    ASSERT_TRUE(s->set_state("a", "paused", "x", kNow));
  }
  auto s = open();
  EXPECT_EQ(s->get("a")->state, "paused");
}

TEST_F(ConnectionStoreTest, CorruptFileErrorNamesThePath) {
  fs::create_directories(db_path().parent_path());
  {
    std::ofstream out(db_path(), std::ios::binary);
    out << std::string(8192, 'x');
  }
  std::string e = error_of([&] { open(); });
  EXPECT_NE(e.find(db_path().string()), std::string::npos) << e;
  EXPECT_NE(e.find("connection store"), std::string::npos) << e;
  EXPECT_NE(e.find("not a database"), std::string::npos) << e;
}

TEST_F(ConnectionStoreTest, NewerSchemaIsRefused) {
  { open(); }
  {
    RawDb raw(db_path());
    raw.exec("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  }
  std::string e = error_of([&] { open(); });
  EXPECT_NE(e.find(db_path().string()), std::string::npos) << e;
  EXPECT_NE(e.find("newer oemlink (connection store schema 99)"), std::string::npos) << e;
}

// Runs as a user other than root (root ignores file modes), e.g.
//   setpriv --reuid=65534 --regid=65534 --clear-groups store_tests --gtest_filter='*Unwritable*'
TEST_F(ConnectionStoreTest, UnwritableFileErrorNamesThePath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file modes";
  { open(); }
  fs::permissions(db_path(), fs::perms::owner_read);
  std::string e = error_of([&] { open(); });
  EXPECT_NE(e.find(db_path().string()), std::string::npos) << e;
  EXPECT_NE(e.find("Permission denied"), std::string::npos) << e;
  fs::permissions(db_path(), fs::perms::none);
  e = error_of([&] { open(); });
  EXPECT_NE(e.find(db_path().string()), std::string::npos) << e;
  EXPECT_NE(e.find("Permission denied"), std::string::npos) << e;
  fs::permissions(db_path(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(ConnectionStoreTest, ReconcilesManyConnectionsInOneTransaction) {
  auto s = open();
  std::vector<config::ConnectionConfig> yaml;
  for (uint32_t i = 0; i < 20'000; ++i)
    yaml.push_back(yaml_conn("car-" + std::to_string(i), i + 1, "VIN" + std::to_string(i)));
  ReconcileReport r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.inserted, 20'000u);
  yaml[123].vin = "changed";
  yaml.pop_back();
  r = s->reconcile_config(yaml, kNow);
  EXPECT_EQ(r.unchanged, 19'998u);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(s->count_live(), 19'999u);
}

}  // namespace
}  // namespace oemlink::store
