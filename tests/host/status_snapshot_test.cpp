// status.json: the one type the daemon writes and `oemlink status`/`deadletter` read.
#include "core/host/status_snapshot.hpp"

#include "tests/common/disk_full.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace oemlink::host {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

StatusSnapshot sample(int64_t pid = 4242) {
  StatusSnapshot s;
  s.pid = pid;
  s.running = true;
  s.updated_ms = 1'700'000'000'123;
  s.connections = 5;
  s.metrics = {{R"(oemlink_polls_total{driver="mock",outcome="ok"})", 12},
               {R"(oemlink_polls_total{driver="tesla",outcome="ok"})", 30},
               {R"(oemlink_polls_total{driver="tesla",outcome="error"})", 2},
               {"oemlink_pipeline_events_built_total", 40},
               {"oemlink_outbox_oldest_age_seconds", 2.5},
               {"big", static_cast<double>(1ull << 63)}};
  s.outbox = OutboxSnapshot{3, 4096, 1'700'000'000'000, 40, 1, 2, 0, 7, 39};
  s.sinks = {{"dimo", 30, 4, 7, 2, 1, 12, 250}, {"witness", 40, 0, 0, 0, 0, 1, 3}};
  s.reload =
      ReloadSnapshot{2,
                     1'700'000'000'500,
                     "refused",
                     "reload refused: data_dir cannot change while running; restart to apply",
                     {"reload refused: data_dir cannot change while running; restart to apply"}};
  return s;
}

class StatusFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oemlink-status-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "status.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void put(const std::string& text) { std::ofstream(path_) << text; }
  // What read_status_file says about the current file, or "" when it reads fine.
  std::string read_error() {
    try {
      read_status_file(path_);
    } catch (const StatusFileError& e) {
      return e.what();
    }
    return "";
  }
  std::vector<std::string> dir_entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }

  fs::path dir_;
  fs::path path_;
};

TEST(StatusSnapshotJson, RoundTripsEveryField) {
  StatusSnapshot in = sample(), out;
  from_json(json::parse(json::serialize(to_json(in))), out);
  EXPECT_EQ(out, in);

  StatusSnapshot bare;  // no outbox, no sinks, no counters
  from_json(json::parse(json::serialize(to_json(bare))), out);
  EXPECT_EQ(out, bare);
  EXPECT_FALSE(out.outbox);
}

TEST(StatusSnapshotJson, KeepsTheKeysOperatorsScriptsRead) {
  // `oemlink status --json` prints this document; tests/e2e and operators read these keys.
  json::object doc = to_json(sample()).as_object();
  for (const char* k :
       {"pid", "running", "updated_ms", "connections", "metrics", "outbox", "sinks"})
    EXPECT_TRUE(doc.contains(k)) << k;
  EXPECT_EQ(doc.at("outbox").at("depth").to_number<uint64_t>(), 3u);
  EXPECT_EQ(doc.at("sinks").at(0).at("name").as_string(), "dimo");
  EXPECT_EQ(doc.at("sinks").at(0).at("retried").to_number<uint64_t>(), 4u);
  EXPECT_EQ(doc.at("metrics").at("oemlink_pipeline_events_built_total").to_number<uint64_t>(), 40u);
  EXPECT_EQ(doc.at("metrics").at("oemlink_outbox_oldest_age_seconds").as_double(), 2.5);
  // `oemlink reload` waits for reload.number to move and prints reload.summary and errors.
  EXPECT_EQ(doc.at("reload").at("number").to_number<uint64_t>(), 2u);
  EXPECT_EQ(doc.at("reload").at("outcome").as_string(), "refused");
  EXPECT_EQ(doc.at("reload").at("errors").at(0).as_string(),
            "reload refused: data_dir cannot change while running; restart to apply");
}

TEST_F(StatusFileTest, WriteThenReadIsTheSameSnapshot) {
  write_status_file(path_, sample());
  auto back = read_status_file(path_);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, sample());
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temp file left; the spare is allocated for the next write.
  EXPECT_THAT(dir_entries(), ::testing::UnorderedElementsAre("status.json", ".status.json.spare"));

  StatusSnapshot stopped = sample();
  stopped.running = false;
  write_status_file(path_, stopped);  // replaces
  EXPECT_EQ(read_status_file(path_)->running, false);
}

// A write that fails (here: past RLIMIT_FSIZE, as on a full disk) leaves the previous
// status.json whole, with and without the spare, and leaves no temp file behind.
TEST_F(StatusFileTest, AFailedWriteLeavesThePreviousVersionIntact) {
  StatusSnapshot before = sample();
  write_status_file(path_, before);
  StatusSnapshot after = sample();
  after.running = false;
  after.outbox->commit_failing = true;
  after.outbox->commit_error = "database or disk is full";
  for (bool with_spare : {true, false}) {
    SCOPED_TRACE(with_spare ? "spare" : "no spare");
    if (!with_spare) fs::remove(dir_ / ".status.json.spare");
    {
      oemlink::testing::FileSizeLimit limit(64);
      EXPECT_THROW(write_status_file(path_, after), StatusFileError);
    }
    auto back = read_status_file(path_);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, before);
    for (const std::string& name : dir_entries())
      EXPECT_TRUE(name == "status.json" || name == ".status.json.spare") << name;
  }
  write_status_file(path_, after);  // room again
  EXPECT_EQ(*read_status_file(path_), after);
}

// On a filesystem with no free byte left, the status is still written (through the spare the
// previous write allocated), so `oemlink status` can say the outbox cannot commit.
TEST_F(StatusFileTest, AFullFilesystemStillGetsTheNewStatusThroughTheSpare) {
  oemlink::testing::SmallTmpfs fs_small("1m");
  if (!fs_small.mounted()) GTEST_SKIP() << fs_small.skip_reason;
  const fs::path path = fs_small.path / "status.json";
  write_status_file(path, sample());
  ASSERT_GT(fs_small.fill(fs_small.path / "filler"), 0u);
  StatusSnapshot full = sample();
  full.outbox->commit_failing = true;
  full.outbox->commit_failures = 7;
  full.outbox->commit_error = "database or disk is full";
  write_status_file(path, full);
  EXPECT_EQ(*read_status_file(path), full);
  write_status_file(path, full);  // the replaced file's space became the next spare
  EXPECT_EQ(*read_status_file(path), full);
}

TEST_F(StatusFileTest, AMissingFileIsNoStatusYet) {
  EXPECT_EQ(read_status_file(path_), std::nullopt);
}

TEST_F(StatusFileTest, AnEndlessFileIsRefusedNotReadForever) {
  fs::create_symlink("/dev/zero", path_);
  try {
    (void)read_status_file(path_);
    FAIL();
  } catch (const StatusFileError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 1 MiB"), std::string::npos) << e.what();
  }
}

TEST_F(StatusFileTest, CorruptOrTornFilesNameTheFile) {
  put("{not json");
  EXPECT_THAT(read_error(), AllOf(HasSubstr(path_.string()), HasSubstr("not a status document")));
  put("");
  EXPECT_THAT(read_error(), HasSubstr(path_.string()));
  std::string whole = json::serialize(to_json(sample()));
  put(whole.substr(0, whole.size() / 2));
  EXPECT_THAT(read_error(), HasSubstr(path_.string()));
  put("[1, 2]");
  EXPECT_THAT(read_error(), AllOf(HasSubstr(path_.string()), HasSubstr("expected an object")));
}

TEST_F(StatusFileTest, MissingOrMistypedKeysAreNamed) {
  auto with = [&](auto edit) {
    json::object doc = to_json(sample()).as_object();
    edit(doc);
    put(json::serialize(doc));
    return read_error();
  };
  EXPECT_THAT(with([](json::object& d) { d.erase("running"); }),
              AllOf(HasSubstr(path_.string() + ": running: missing")));
  EXPECT_THAT(with([](json::object& d) { d.erase("metrics"); }), HasSubstr("metrics: missing"));
  EXPECT_THAT(with([](json::object& d) { d["outbox"].as_object().erase("depth"); }),
              HasSubstr("outbox.depth: missing"));
  EXPECT_THAT(
      with([](json::object& d) { d["sinks"].as_array()[1].as_object()["delivered"] = "x"; }),
      HasSubstr("sinks[1].delivered: expected an integer"));
  EXPECT_THAT(with([](json::object& d) { d["connections"] = -1; }),
              HasSubstr("connections: expected a number >= 0"));
  EXPECT_THAT(with([](json::object& d) { d["running"] = 1; }),
              HasSubstr("running: expected true or false"));
  EXPECT_THAT(with([](json::object& d) { d["metrics"].as_object()["x_total"] = "1"; }),
              HasSubstr("metrics.x_total: expected a number"));
  EXPECT_THAT(with([](json::object& d) { d["sinks"] = json::object{}; }),
              HasSubstr("sinks: expected an array"));
}

TEST_F(StatusFileTest, ReadsWhatOlderDaemonsWroteAndIgnoresUnknownKeys) {
  // Before per-sink latency, and before any outbox was open (no outbox, no sinks).
  put(R"({"pid":17,"running":true,"updated_ms":5,"connections":2,"counters":{"polls_ok":3},
          "outbox":{"depth":1,"bytes":2,"oldest_ms":3,"appended":4,"dropped":5,"refused":6,
                    "corrupt":7,"dead_letters":8,"durable_seq":9},
          "sinks":[{"name":"events","delivered":1,"retried":2,"dead_lettered":3,"in_flight":4,
                    "pending":5}]})");
  auto s = read_status_file(path_);
  ASSERT_TRUE(s) << read_error();
  EXPECT_EQ(s->metrics.at("polls_ok"), 3.0);  // "counters", as daemons before issue 15 wrote
  EXPECT_EQ(s->outbox->durable_seq, 9u);
  ASSERT_EQ(s->sinks.size(), 1u);
  EXPECT_EQ(s->sinks[0].pending, 5u);
  EXPECT_EQ(s->sinks[0].latency_p99_ms, 0);

  put(R"({"pid":17,"running":false,"updated_ms":5,"connections":0,"counters":{},
          "from_the_future":{"x":1}})");
  s = read_status_file(path_);
  ASSERT_TRUE(s) << read_error();
  EXPECT_FALSE(s->outbox);
  EXPECT_TRUE(s->sinks.empty());
}

TEST_F(StatusFileTest, WriteErrorsAreReportedNotDropped) {
  fs::path nowhere = dir_ / "no-such-dir" / "status.json";
  try {
    write_status_file(nowhere, sample());
    ADD_FAILURE() << "wrote into a missing directory";
  } catch (const StatusFileError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(nowhere.string()), HasSubstr("No such file")));
  }
  // A directory in the way: the rename fails even for root, and the temp file is cleaned up.
  fs::create_directories(path_ / "occupied");
  try {
    write_status_file(path_, sample());
    ADD_FAILURE() << "renamed over a directory";
  } catch (const StatusFileError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(path_.string()), HasSubstr("rename")));
  }
  EXPECT_EQ(dir_entries(), std::vector<std::string>{"status.json"});
}

TEST_F(StatusFileTest, ConcurrentWritersNeverLeaveATornFile) {
  const StatusSnapshot a = sample(1), b = sample(2);
  write_status_file(path_, a);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto writer = [&](const StatusSnapshot& s) {
    for (int i = 0; i < 300; ++i) {
      try {
        write_status_file(path_, s);
      } catch (const StatusFileError&) {
        ++failures;
      }
    }
  };
  std::thread reader([&] {
    while (!stop) {
      try {
        auto got = read_status_file(path_);
        if (!got || (*got != a && *got != b)) ++failures;
      } catch (const StatusFileError&) {
        ++failures;
      }
    }
  });
  std::thread w1(writer, std::cref(a)), w2(writer, std::cref(b));
  w1.join();
  w2.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  // No temp file left behind; the spare, when the last writer could allocate it.
  for (const std::string& name : dir_entries())
    EXPECT_TRUE(name == "status.json" || name == ".status.json.spare") << name;
  auto last = read_status_file(path_);
  ASSERT_TRUE(last);
  EXPECT_TRUE(*last == a || *last == b);
}

TEST(StatusSnapshotLiveness, RunningAndAProcessWithThePid) {
  StatusSnapshot s = sample(getpid());
  EXPECT_TRUE(daemon_alive(s));
  s.running = false;
  EXPECT_FALSE(daemon_alive(s));  // the daemon's last word as it stopped
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(daemon_alive(sample(child)));  // reaped: no such process
  EXPECT_FALSE(daemon_alive(sample(0)));
}

TEST(StatusSnapshotJson, MetricTotalSumsAFamilyOverItsOtherLabels) {
  StatusSnapshot s = sample();
  EXPECT_EQ(metric_total(s, "oemlink_polls_total", {{"outcome", "ok"}}), 42.0);
  EXPECT_EQ(metric_total(s, "oemlink_polls_total"), 44.0);
  EXPECT_EQ(metric_total(s, "oemlink_polls_total", {{"driver", "tesla"}}), 32.0);
  EXPECT_EQ(metric_total(s, "oemlink_polls_total", {{"outcome", "hung"}}), 0.0);
  EXPECT_EQ(metric_total(s, "oemlink_polls"), 0.0);  // a prefix of a name is not the name
  EXPECT_EQ(metric_total(s, "oemlink_outbox_oldest_age_seconds"), 2.5);
}

}  // namespace
}  // namespace oemlink::host
