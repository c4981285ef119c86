// The smallest useful oemlink driver: each poll emits one reading, the configured speed, for
// the car being polled. Start a real driver from here: replace the body of poll() with
// host.http(...) calls to the OEM's API and map its answer to DIMO signals.
#include <oemlink/driver.hpp>
#include <oemlink/signals.hpp>

#include <memory>
#include <stdexcept>

namespace {

struct HelloSettings {
  double speed_kmh = 42;
};

// Declared once: the host validates the YAML `settings:` block against this table before
// create() runs, and the driver receives the values as a HelloSettings.
constexpr oemlink::SettingsTable kSettings{
    oemlink::field("speed_kmh", OEMLINK_SETTING_NUMBER, 0, "42",
                   "The speed every car reports, in km/h", &HelloSettings::speed_kmh),
};

class HelloConnection final : public oemlink::Connection {
 public:
  HelloConnection(oemlink::Host host, oemlink::ConnHandle conn, double speed_kmh)
      : host_(host), conn_(conn), speed_kmh_(speed_kmh) {}

  void poll(oemlink::PollDone done) override {
    const oemlink_reading readings[] = {
        oemlink::Reading::number(oemlink::signals::speed.name, host_.now_ms(), speed_kmh_),
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
  // The host has checked that speed_kmh is a number; what it cannot know is the driver's own
  // rule, so that is the only check here.
  HelloDriver(oemlink::Host host, const HelloSettings& settings)
      : host_(host), speed_kmh_(settings.speed_kmh) {
    if (speed_kmh_ < 0) throw std::invalid_argument("hello: speed_kmh must not be negative");
  }

  std::unique_ptr<oemlink::Connection> open(oemlink::ConnHandle conn,
                                            const oemlink::ConnInfo&) override {
    return std::make_unique<HelloConnection>(host_, conn, speed_kmh_);
  }

 private:
  oemlink::Host host_;
  double speed_kmh_;
};

}  // namespace

OEMLINK_DRIVER(HelloDriver, "hello", "0.1.0", "Example driver: one constant reading per poll",
               OEMLINK_CAP_POLL, kSettings)
