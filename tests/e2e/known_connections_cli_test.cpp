// The offline commands against the connection store: `oemlink keys list`, `oemlink secrets
// set|list` and `oemlink verify --keys` know the linked and API-added connections that live only
// in <data_dir>/connections.db, read it without changing it, fall back to the YAML before the
// first run, and refuse secrets for a revoked connection.
#include "core/common/data_dir.hpp"
#include "core/store/connection_store.hpp"
#include "tests/e2e/cli_fixture.hpp"

namespace oemlink::testing {
namespace {

class KnownConnectionsCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write("kek.hex", std::string(64, 'd') + "\n");
    fs::permissions(dir_ / "kek.hex", fs::perms::owner_read | fs::perms::owner_write);
    cfg_ = write("oemlink.yaml",
                 "data_dir: data\n"
                 "vault: {create_if_missing: true, kek: {file: kek.hex}}\n"
                 "drivers:\n"
                 "  - {name: tesla, library: mock}\n"
                 "connections:\n"
                 "  - {id: yaml-car, driver: tesla, key_child: 1}\n")
               .string();
    write("rt.txt", "rt-value\n");
  }
  // Rows as `oemlink run` would have stored them for linked cars.
  void store_rows() {
    store::ConnectionStore s(DataDir(dir_ / "data").connections_db());
    store::StoredConnection linked;
    linked.id = "tesla-linked";
    linked.driver = "tesla";
    linked.vehicle_id = "123";
    linked.key_child = 7;
    linked.source = "linked";
    store::StoredConnection gone = linked;
    gone.id = "tesla-gone";
    gone.vehicle_id = "456";
    gone.key_child = 8;
    gone.state = "revoked";
    const std::vector<store::StoredConnection> rows{linked, gone};
    for (const std::string& why : s.insert(rows)) ASSERT_EQ(why, "");
  }
  Result secrets(const std::string& verb, const std::string& conn) {
    std::vector<std::string> args = {"secrets", verb, conn};
    if (verb == "set") args.insert(args.end(), {"refresh_token", "--file", "rt.txt"});
    args.insert(args.end(), {"--config", cfg_});
    return run(args);
  }
  Result keys(std::vector<std::string> args) {
    args.insert(args.begin(), "keys");
    args.insert(args.end(), {"--vault", "data/vault.sealed", "--kek-file", "kek.hex"});
    return run(args);
  }
  std::string cfg_;
};

TEST_F(KnownConnectionsCli, BeforeTheFirstRunTheYamlIsTheListAndNothingIsCreated) {
  Result r = secrets("set", "yaml-car");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "data/connections.db"));
  r = secrets("set", "tesla-linked");
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "no connection \"tesla-linked\"");
  r = keys({"list", "--config", cfg_});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "yaml-car");
  EXPECT_FALSE(fs::exists(dir_ / "data/connections.db"));
}

TEST_F(KnownConnectionsCli, StoredConnectionsAreKnownAndARevokedOneTakesNoSecret) {
  ASSERT_EQ(secrets("set", "yaml-car").rc, 0);  // creates the vault
  store_rows();

  Result r = secrets("set", "tesla-linked");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "stored refresh_token for connection tesla-linked (driver tesla)");
  r = secrets("list", "tesla-linked");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, "1 secret(s) for connection tesla-linked");
  EXPECT_EQ(r.out.find("rt-value"), std::string::npos);

  r = secrets("set", "tesla-gone");
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "connection tesla-gone is revoked");
  EXPECT_HAS(secrets("list", "tesla-gone").out, "0 secret(s) for connection tesla-gone");

  r = secrets("set", "tesla-linkd");
  EXPECT_EQ(r.rc, 1);
  EXPECT_HAS(r.err, "did you mean \"tesla-linked\"");
  EXPECT_HAS(r.err, "3 connection(s) known");

  // keys list: the stored rows with their state, then the YAML car the store does not hold yet.
  const std::string child7 = keys({"address", "7"}).out;
  const std::string child1 = keys({"address", "1"}).out;
  ASSERT_EQ(child7.size(), 43u) << child7;
  r = keys({"list", "--config", cfg_});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_HAS(r.out, child7.substr(0, 42) + " active");
  EXPECT_HAS(r.out, "tesla-gone");
  EXPECT_HAS(r.out, "revoked");
  EXPECT_HAS(r.out, "yaml-car");
  EXPECT_HAS(r.out, child1.substr(0, 42));
}

}  // namespace
}  // namespace oemlink::testing
