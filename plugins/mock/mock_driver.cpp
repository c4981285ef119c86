// The mock driver: simulated electric cars for tests, demos and load tests of the host.
#include "mock_connection.hpp"
#include "mock_linker.hpp"
#include "mock_settings.hpp"
#include "prng.hpp"

#include <oemlink/driver.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace oemlink::mock {
namespace {

class MockDriver final : public Driver {
 public:
  MockDriver(Host host, std::string_view settings_json) {
    instance_.host = host;
    instance_.settings = parse_settings(settings_json);
    linker_ = std::make_unique<MockLinker>(instance_.settings.link_authorize_url);
    if (instance_.settings.fail_create) throw std::runtime_error("mock: fail_create is set");
    instance_.rate_limited_reason =
        "mock: 429 Retry-After " +
        std::to_string(instance_.settings.rate_limit_retry_after_ms / 1000);
  }

  std::unique_ptr<Connection> open(ConnHandle conn, const ConnInfo& info) override {
    const uint64_t car_seed =
        mix64(static_cast<uint64_t>(instance_.settings.seed), hash_text(info.id));
    auto c = std::make_unique<MockConnection>(instance_, conn, car_seed);
    if (instance_.settings.webhook) instance_.directory.add(info.id, conn);
    return c;
  }

  void webhook(const HttpRequest& req,
               std::function<void(int, std::string_view)> respond) override {
    if (!instance_.settings.webhook) {
      respond(404, R"j({"error":"webhooks are off for this instance (settings.webhook)"})j");
      return;
    }
    WebhookAnswer a = handle_webhook(instance_.host, instance_.directory, req.body);
    respond(a.status, a.body);
  }

  Linker* linker() override { return linker_.get(); }

 private:
  MockInstance instance_;
  std::unique_ptr<MockLinker> linker_;
};

}  // namespace
}  // namespace oemlink::mock

OEMLINK_DRIVER(oemlink::mock::MockDriver, "mock", "0.1.0",
               "Simulated electric cars with failure injection, for tests and load tests",
               OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM | OEMLINK_CAP_WEBHOOK,
               oemlink::mock::kSettingsTable)
