// The smallest useful oemlink driver: each poll emits one reading, the configured speed, for
// the car being polled. Start a real driver from here: replace the body of poll() with
// host.http(...) calls to the OEM's API and map its answer to DIMO signals.
#include <oemlink/driver.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// Settings the host validates the YAML `settings:` block against before create() runs.
constexpr oemlink_setting kSettings[] = {
    oemlink::setting("speed_kmh", OEMLINK_SETTING_NUMBER, 0, "42",
                     "The speed every car reports, in km/h"),
};

class HelloConnection final : public oemlink::Connection {
 public:
  HelloConnection(oemlink::Host host, oemlink::ConnHandle conn, double speed_kmh)
      : host_(host), conn_(conn), speed_kmh_(speed_kmh) {}

  void poll(oemlink::PollDone done) override {
    const oemlink_reading readings[] = {
        oemlink::Reading::number("speed", host_.now_ms(), speed_kmh_),
    };
    // Back-pressure: the host took nothing. Say so; the host polls again later.
    if (host_.emit(conn_, readings) == OEMLINK_RETRY) return done.retry("host back-pressure");
    done.ok();
  }

 private:
  oemlink::Host host_;
  oemlink::ConnHandle conn_;
  double speed_kmh_;
};

class HelloDriver final : public oemlink::Driver {
 public:
  // The settings arrive as a JSON object with defaults filled in. A real driver parses them
  // with a JSON library; this one only needs a number, so it looks for it by hand.
  HelloDriver(oemlink::Host host, std::string_view settings_json) : host_(host) {
    const auto key = settings_json.find("\"speed_kmh\"");
    if (key != std::string_view::npos) {
      const auto colon = settings_json.find(':', key);
      speed_kmh_ = std::stod(std::string(settings_json.substr(colon + 1)));
    }
    if (speed_kmh_ < 0) throw std::invalid_argument("hello: speed_kmh must not be negative");
  }

  std::unique_ptr<oemlink::Connection> open(oemlink::ConnHandle conn,
                                            const oemlink::ConnInfo&) override {
    return std::make_unique<HelloConnection>(host_, conn, speed_kmh_);
  }

 private:
  oemlink::Host host_;
  double speed_kmh_ = 42;
};

}  // namespace

OEMLINK_DRIVER(HelloDriver, "hello", "0.1.0", "Example driver: one constant reading per poll",
               OEMLINK_CAP_POLL, kSettings)
