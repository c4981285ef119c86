#include "core/uplink/uplink_clock.hpp"
#include "core/common/wall_clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace oemlink::uplink {
namespace {

class SteadyBackoffTimer final : public BackoffTimer {
 public:
  explicit SteadyBackoffTimer(boost::asio::io_context& io) : timer_(io) {}
  void start(std::chrono::milliseconds delay, std::function<void()> fire) override {
    timer_.expires_after(delay);
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

int64_t SystemUplinkClock::unix_ms() const {
  return oemlink::unix_ms();
}

int64_t SystemUplinkClock::steady_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<BackoffTimer> SystemUplinkClock::make_timer() {
  return std::make_unique<SteadyBackoffTimer>(io_);
}

}  // namespace oemlink::uplink
