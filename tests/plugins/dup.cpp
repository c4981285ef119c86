// A valid driver, built with driver.hpp, that claims the name "mock": loading it next to the
// real mock driver must be rejected as a duplicate name.
#include <oemlink/driver.hpp>

#include <memory>
#include <string_view>

namespace {

class DupConnection final : public oemlink::Connection {
 public:
  void poll(oemlink::PollDone done) override { done.ok(); }
};

class DupDriver final : public oemlink::Driver {
 public:
  DupDriver(oemlink::Host, std::string_view) {}
  std::unique_ptr<oemlink::Connection> open(oemlink::ConnHandle,
                                            const oemlink::ConnInfo&) override {
    return std::make_unique<DupConnection>();
  }
};

}  // namespace

OEMLINK_DRIVER(DupDriver, "mock", "0.0.1", "loader test plugin reusing the name mock",
               OEMLINK_CAP_POLL, OEMLINK_NO_SETTINGS)
