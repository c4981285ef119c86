// The Smartcar driver's entry point: an instance per `drivers:` entry, a SmartcarConnection per
// car, and the instance-wide webhook. README.md documents settings, identifiers and states.
#include "instance_context.hpp"
#include "json_fields.hpp"
#include "smartcar_connection.hpp"
#include "smartcar_linker.hpp"
#include "smartcar_settings.hpp"
#include "webhook_handler.hpp"

#include <oemlink/driver.hpp>

#include <boost/json/parse.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace oemlink::smartcar {
namespace {

class SmartcarDriver : public Driver {
 public:
  SmartcarDriver(Host host, std::string_view settings_json)
      : ctx_(std::make_shared<InstanceContext>(host, parse_settings(settings_json))),
        webhooks_(ctx_),
        linker_(ctx_) {
    const std::string url = host.webhook_url();
    if (url.empty()) {
      host.log(OEMLINK_LOG_INFO,
               "smartcar: no inbound listener is configured, so no webhooks will arrive; cars "
               "are polled only");
    } else {
      host.log(OEMLINK_LOG_INFO,
               "smartcar: register this callback URI for the Smartcar "
               "webhook (Dashboard > Webhooks): " +
                   url);
      if (ctx_->settings->amt.empty())
        host.log(OEMLINK_LOG_WARN,
                 "smartcar: setting amt (application management token) is empty: every webhook "
                 "delivery, VERIFY included, will be refused with 401");
    }
  }

  std::unique_ptr<Connection> open(ConnHandle conn, const ConnInfo& info) override {
    boost::system::error_code ec;
    boost::json::value ids = boost::json::parse(info.identifiers_json, ec);
    const std::string_view vehicle_id = ec ? std::string_view() : json::text(&ids, "smartcar_id");
    if (vehicle_id.empty())
      throw std::invalid_argument("smartcar: connection " + info.id +
                                  " has no identifiers.smartcar_id (the Smartcar vehicle id)");
    // A car linked through Connect names its Smartcar user: the cars of one consent share its
    // tokens (chain_directory.hpp).
    std::string user(ec ? std::string_view() : json::text(&ids, "smartcar_user"));
    std::string id(vehicle_id);
    if (!ctx_->registry.add(id, conn))
      throw std::invalid_argument("smartcar: connection " + info.id + ": vehicle " + id +
                                  " is already linked by another connection of this driver");
    try {
      return std::make_unique<SmartcarConnection>(ctx_, conn, std::move(id), std::move(user));
    } catch (...) {
      ctx_->registry.remove(std::string(vehicle_id), conn);
      throw;
    }
  }

  void webhook(const HttpRequest& req,
               std::function<void(int, std::string_view)> respond) override {
    webhooks_.handle(req, respond);
  }

  Linker* linker() override { return &linker_; }

 private:
  std::shared_ptr<InstanceContext> ctx_;
  WebhookHandler webhooks_;
  SmartcarLinker linker_;
};

}  // namespace
}  // namespace oemlink::smartcar

OEMLINK_DRIVER(oemlink::smartcar::SmartcarDriver, "smartcar", "0.1.0",
               "Smartcar: v3 signals polling and verified webhooks (payload 4.0 and 2.0)",
               OEMLINK_CAP_POLL | OEMLINK_CAP_WEBHOOK, oemlink::smartcar::kSettingsTable)
