// ConnectionTable: handles are index + 1 and are checked per driver; key children are claimed
// once, for good; a driver's open failure comes back with its message.
#include "core/host/connection_table.hpp"

#include "core/host/driver_set.hpp"
#include "core/vault/claimed_child_vault.hpp"
#include "tests/host/scripted_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace oemlink::host {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

config::ConnectionConfig car(const std::string& id, uint32_t child) {
  config::ConnectionConfig c;
  c.id = id;
  c.driver = "scripted";
  c.vin = "5YJ3E1EA7KF00000" + std::to_string(child % 10);
  c.key_child = child;
  c.identifiers = {{"tesla_id", "42"}, {"quote", "a\"b"}};
  return c;
}

TEST(ConnectionTable, HandlesAreCheckedAgainstTheOwningDriver) {
  config::Config cfg;
  config::DriverConfig a, b;
  a.name = "a";
  b.name = "b";
  DriverSet drivers(cfg, {"/nonexistent"});
  testing::ScriptedDriver sa, sb;
  DriverInstance& da =
      drivers.adopt(a, testing::scripted_descriptor(), testing::instance_of(sa), nullptr);
  DriverInstance& db =
      drivers.adopt(b, testing::scripted_descriptor(), testing::instance_of(sb), nullptr);
  ConnectionTable t;
  std::vector<std::string> closed;  // the runtime lets the pipeline forget these
  t.set_closed_hook([&](const ConnectionRecord& r) { closed.push_back(r.id); });
  uint32_t c0 = t.add(car("car-0", 1), da.index);
  uint32_t c1 = t.add(car("car-1", 2), db.index);
  std::string error;
  ASSERT_TRUE(t.open(c0, da, error));
  EXPECT_EQ(t.index_of(ConnectionTable::handle_of(c1)), c1);
  EXPECT_EQ(t.index_of(nullptr), kNoConn);
  EXPECT_EQ(t.index_of(ConnectionTable::handle_of(7)), kNoConn);
  EXPECT_EQ(t.owned_by(ConnectionTable::handle_of(c0), da.index), c0);
  EXPECT_EQ(t.owned_by(ConnectionTable::handle_of(c0), db.index), kNoConn) << "another driver's";
  EXPECT_EQ(t.owned_by(ConnectionTable::handle_of(c1), db.index), kNoConn) << "not open";
  EXPECT_EQ(t[c0].identifiers_json, R"({"quote":"a\"b","tesla_id":"42"})");
  t.close(c0, da);
  t.close(c0, da);  // closing twice calls the driver once
  EXPECT_EQ(sa.closes, 1);
  EXPECT_EQ(closed, std::vector<std::string>{"car-0"});
  EXPECT_EQ(t.owned_by(ConnectionTable::handle_of(c0), da.index), kNoConn) << "closed";
}

TEST(ConnectionTable, AnOpenFailureComesBackWithTheDriversMessage) {
  config::Config cfg;
  config::DriverConfig a;
  a.name = "a";
  DriverSet drivers(cfg, {"/nonexistent"});
  testing::ScriptedDriver sa;
  sa.open_answer = OEMLINK_ERROR;
  DriverInstance& da =
      drivers.adopt(a, testing::scripted_descriptor(), testing::instance_of(sa), nullptr);
  ConnectionTable t;
  uint32_t c = t.add(car("car-0", 1), da.index);
  std::string error;
  EXPECT_FALSE(t.open(c, da, error));
  EXPECT_EQ(error, "scripted open failure");
  EXPECT_FALSE(t[c].open);
}

TEST(ConnectionTable, KeyChildrenAreClaimedOnceForGoodThroughTheVault) {
  fs::path dir = fs::temp_directory_path() / ("oemlink-conn-table-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  LockedBuffer seed(32);
  for (size_t i = 0; i < seed.size(); ++i) seed.data()[i] = static_cast<uint8_t>(i + 1);
  vault::ClaimedChildVault data(std::move(seed), 0, dir / "keys.db", dir / "vault.sealed");
  std::vector<config::ConnectionConfig> first{car("car-a", 1), car("car-b", 2)};
  auto refused = ConnectionTable::claim_key_children(data, first);
  EXPECT_EQ(refused, (std::vector<std::string>{"", ""}));
  // A later configuration gives child 1 to another car: refused, naming both; the rest is fine.
  std::vector<config::ConnectionConfig> second{car("car-c", 1), car("car-b", 2), car("car-d", 3)};
  refused = ConnectionTable::claim_key_children(data, second);
  EXPECT_THAT(refused[0], HasSubstr("car-a"));
  EXPECT_THAT(refused[0], HasSubstr("car-c"));
  EXPECT_EQ(refused[1], "");
  EXPECT_EQ(refused[2], "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace oemlink::host

namespace oemlink::host {
namespace {

ConnectionFields fields(std::string id, uint32_t child = 0) {
  ConnectionFields f;
  f.id = std::move(id);
  f.key_child = child;
  return f;
}

TEST(ConnectionTable, FindsConnectionsByIdWhileItGrowsAndRecordsNeverMove) {
  ConnectionTable t;
  t.add(fields("first"));
  const ConnectionRecord* first = &t[0];
  for (uint32_t i = 1; i < 50'000; ++i) ASSERT_EQ(t.add(fields("car-" + std::to_string(i), i)), i);
  EXPECT_EQ(&t[0], first) << "a record moved while the table grew";
  EXPECT_EQ(t.find("first"), 0u);
  EXPECT_EQ(t.find("car-49999"), 49'999u);
  EXPECT_EQ(t.find("car-50000"), kNoConn);
  EXPECT_EQ(t.find(""), kNoConn);
  for (uint32_t i = 1; i < 50'000; i += 997) ASSERT_EQ(t.find("car-" + std::to_string(i)), i);
}

TEST(ConnectionTable, AHandleBeyondWhatIsPublishedIsRefused) {
  ConnectionTable t;
  EXPECT_EQ(t.index_of(ConnectionTable::handle_of(0)), kNoConn);
  t.add(fields("a"));
  EXPECT_EQ(t.index_of(ConnectionTable::handle_of(0)), 0u);
  EXPECT_EQ(t.index_of(ConnectionTable::handle_of(1)), kNoConn);
  EXPECT_EQ(t.owned_by(ConnectionTable::handle_of(0), 0), kNoConn) << "not open";
}

}  // namespace
}  // namespace oemlink::host
