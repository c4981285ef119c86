// "probe": a test driver that exercises every host service the way the Tesla and Smartcar
// drivers will: it rotates a refresh token through secret_put before using it, calls an HTTP
// endpoint through the host, waits on a host timer, maps 429 + Retry-After to RATE_LIMITED and
// 401 to NEEDS_REAUTH, and emits one reading per successful poll. With `crash: "poll"` a poll
// dereferences NULL (a driver bug the host must name and quarantine); with `crash: "thread"` it
// starts a thread of its own that does (outside any host call into it); with `crash_after: "N"`
// the Nth poll of the process does (a driver that crashes now and then: in a process of its own
// it is restarted, and its token chain shows whether any accepted reading went missing). With
// `hang: "yes"` its polls never complete (for the host's watchdog); as a driver-wide stream it
// emits for every open connection on a timer.
#include <oemlink/driver.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

std::string setting(std::string_view json, const std::string& key) {
  // Settings arrive as a flat JSON object from the host; the probe only has string settings.
  auto k = json.find("\"" + key + "\":\"");
  if (k == std::string_view::npos) return {};
  auto start = k + key.size() + 4;
  auto end = json.find('"', start);
  return std::string(json.substr(start, end - start));
}

// Polls of this process, for crash_after.
std::atomic<uint64_t> g_polls{0};

class ProbeConnection : public oemlink::Connection {
 public:
  ProbeConnection(oemlink::Host host, oemlink::ConnHandle conn, std::string url, bool hang,
                  std::string crash, uint64_t crash_after)
      : host_(host),
        conn_(conn),
        url_(std::move(url)),
        hang_(hang),
        crash_(std::move(crash)),
        crash_after_(crash_after) {}

  void poll(oemlink::PollDone done) override {
    if (crash_ == "poll" || (crash_after_ && ++g_polls == crash_after_)) {
      // the bug a third party's driver may ship: the host must name it
      volatile int* nowhere = nullptr;
      *nowhere = 1;
    }
    if (crash_ == "thread") {  // the same bug on a thread of its own, after this poll returned
      std::thread([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        volatile int* volatile nowhere = nullptr;
        *nowhere = 1;
      }).detach();
    }
    if (hang_) {
      hung_.push_back(std::move(done));  // never finished: the host must notice
      return;
    }
    std::string token;
    uint64_t n = 0;
    if (host_.secret_get(conn_, "refresh_token", token)) n = std::stoull(token.substr(3));
    // Persist the rotated pair before using it: a crash after an OEM rotation must not strand
    // the car with a dead refresh token.
    std::string next_rt = "rt-" + std::to_string(n + 1);
    std::string next_at = "at-" + std::to_string(n + 1);
    std::pair<std::string_view, std::string_view> kv[] = {{"refresh_token", next_rt},
                                                          {"access_token", next_at}};
    if (!host_.secret_put(conn_, kv)) return done.retry("probe: could not persist tokens");
    host_.count("token_rotations");
    if (url_.empty()) return finish(std::move(done), n + 1);
    oemlink::HttpRequest req;
    req.url = url_;
    req.headers.emplace_back("Authorization", "Bearer " + next_at);
    auto shared = std::make_shared<oemlink::PollDone>(std::move(done));
    bool ok = host_.http(conn_, req, [this, shared, n](const oemlink::HttpResponse& r) {
      if (r.status != OEMLINK_OK) return shared->retry(r.error);
      if (r.http_status == 429) {
        int64_t wait_s = std::atoll(std::string(r.header("Retry-After")).c_str());
        host_.report_state(conn_, OEMLINK_STATE_RATE_LIMITED, host_.now_ms() + wait_s * 1000,
                           "probe: 429");
        return shared->retry("probe: 429");
      }
      if (r.http_status == 401) {
        host_.report_state(conn_, OEMLINK_STATE_NEEDS_REAUTH, 0, "probe: login_required");
        return shared->error("probe: 401");
      }
      // Complete a little later through a host timer, as a driver pacing its calls would.
      host_.start_timer(5, [this, shared, n](bool cancelled) {
        if (cancelled) return shared->retry("probe: timer cancelled");
        finish(std::move(*shared), n + 1);
      });
    });
    if (!ok) shared->error("probe: http request refused");
  }

 private:
  void finish(oemlink::PollDone done, uint64_t n) {
    oemlink_reading r = oemlink::Reading::number("speed", host_.now_ms(), static_cast<double>(n));
    oemlink_status st = host_.emit(conn_, {&r, 1});
    if (st == OEMLINK_RETRY) return done.retry("probe: back-pressure");
    done.ok();
  }

  oemlink::Host host_;
  oemlink::ConnHandle conn_;
  std::string url_;
  bool hang_;
  std::string crash_;
  uint64_t crash_after_;
  std::vector<oemlink::PollDone> hung_;
};

class ProbeDriver : public oemlink::Driver {
 public:
  ProbeDriver(oemlink::Host host, std::string_view settings)
      : host_(host),
        url_(setting(settings, "url")),
        hang_(setting(settings, "hang") == "yes"),
        crash_(setting(settings, "crash")),
        crash_after_(std::strtoull(setting(settings, "crash_after").c_str(), nullptr, 10)) {}
  ~ProbeDriver() override { stream_stop(); }
  std::unique_ptr<oemlink::Connection> open(oemlink::ConnHandle conn,
                                            const oemlink::ConnInfo&) override {
    conns_.push_back(conn);
    return std::make_unique<ProbeConnection>(host_, conn, url_, hang_, crash_, crash_after_);
  }
  void stream_start(oemlink::StreamEnded ended) override {
    ended_ = std::move(ended);
    tick();
  }
  void stream_stop() override {
    ended_.release();
    if (timer_) host_.cancel_timer(timer_);
    timer_ = 0;
  }
  // A webhook whose body is "hang" is never answered; any other is answered 200 with the URL the
  // host's oemlink.webhook-url/1 service gives this instance.
  void webhook(const oemlink::HttpRequest& req,
               std::function<void(int, std::string_view)> respond) override {
    if (req.body == "hang") {
      unanswered_.push_back(std::move(respond));
      return;
    }
    respond(200, host_.webhook_url());
  }

 private:
  // One batch for every connection per tick, the way a fleet-wide feed (Tesla Fleet Telemetry
  // through Kafka, say) delivers.
  void tick() {
    timer_ = host_.start_timer(50, [this](bool cancelled) {
      if (cancelled) return;
      ++batches_;
      for (auto conn : conns_) {
        oemlink_reading r = oemlink::Reading::number("speed", host_.now_ms(), batches_);
        host_.emit(conn, {&r, 1});
      }
      tick();
    });
  }

  oemlink::Host host_;
  std::string url_;
  bool hang_;
  std::string crash_;
  uint64_t crash_after_;
  std::vector<oemlink::ConnHandle> conns_;
  oemlink::StreamEnded ended_;
  uint64_t timer_ = 0;
  double batches_ = 0;
  std::vector<std::function<void(int, std::string_view)>> unanswered_;
};

const oemlink_setting kSettings[] = {
    oemlink::setting("url", OEMLINK_SETTING_STRING, 0, "\"\"", "Endpoint to GET on every poll"),
    oemlink::setting("hang", OEMLINK_SETTING_STRING, 0, "no", "\"yes\": polls never complete"),
    oemlink::setting("crash", OEMLINK_SETTING_STRING, 0, "no",
                     "\"poll\": every poll dereferences NULL; \"thread\": a thread it starts "
                     "in every poll does"),
    oemlink::setting("crash_after", OEMLINK_SETTING_STRING, 0, "\"0\"",
                     "\"N\": the Nth poll of the process dereferences NULL"),
};

}  // namespace

OEMLINK_DRIVER(ProbeDriver, "probe", "0.1.0", "Host-services probe for tests",
               OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM | OEMLINK_CAP_WEBHOOK, kSettings)
