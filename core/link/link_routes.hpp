// LinkRoutes: GET /link/<driver>/start, GET /link/<driver>/callback and POST /link/<driver>/mint
// on the inbound listener (one prefix route, "/link/*"), for every driver instance that offers the
// oemlink.link/1 extension. README.md describes the flow; in short:
//
//   start     a LinkSessions state + browser cookie (+ PKCE), 302 to the maker's consent page;
//   callback  the state and cookie checked (single use), the code exchanged and the cars listed
//             through the driver, one connection per car through host::ConnectionControl (or the
//             re-authenticated one), answered with what minting needs and a mint grant;
//   mint      with the grant: the typed data to sign, or with the owner's signature the complete
//             mint request, stored once per connection.
//
// Every refusal creates nothing, says why (JSON, or HTML for a browser) and is counted as
// link_refused_<reason>. Secrets (codes, tokens, verifiers, nonces, states, grants) are never
// logged nor echoed.
//
// A driver completes its calls on any thread: each completion is posted to the loop through a
// shared Door, which close() shuts, so a late one finds nothing (and its secrets are wiped).
//
// Threading: the host loop thread.
#pragma once

#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/host/connection_control.hpp"
#include "core/host/host_clock.hpp"
#include "core/link/driver_linker.hpp"
#include "core/link/link_sessions.hpp"
#include "core/link/mint_grants.hpp"
#include "core/link/mint_source.hpp"
#include "core/net/inbound_http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace oemlink::host {
class DriverSet;
struct DriverInstance;
}  // namespace oemlink::host
namespace oemlink::net {
class RouteTable;
}

namespace oemlink::link {

struct LinkOptions {
  std::string public_url;  // listeners.inbound.public_url, no trailing '/'
  std::chrono::milliseconds state_ttl{600'000};
  size_t max_pending = 10'000;
  std::chrono::milliseconds grant_ttl{3'600'000};
  // A driver that has not finished exchanging and listing by then: 504, start again.
  std::chrono::milliseconds driver_timeout{60'000};
  std::map<std::string, std::string> manufacturer_nodes;  // dimo.manufacturer_nodes
};

class LinkRoutes {
 public:
  LinkRoutes(boost::asio::io_context& io, LinkOptions options, MetricsRegistry& metrics,
             const host::HostClock& clock, host::DriverSet& drivers,
             host::ConnectionControl& connections, std::unique_ptr<MintSource> mint);
  ~LinkRoutes();
  LinkRoutes(const LinkRoutes&) = delete;
  LinkRoutes& operator=(const LinkRoutes&) = delete;

  // Registers GET and POST "/link/*" (route name "link").
  void add_to(net::RouteTable& routes);
  void handle(net::InboundRequest&& req, net::ResponderPtr out);

  // New requests get 503; links waiting on a driver are answered 503 "shutting down"; links
  // already being stored finish (answering() counts them).
  void stop_accepting();
  size_t answering() const { return live_.size(); }
  // Answers whatever is left 503 and shuts the door: no driver completion reaches this again.
  void close();

  // [loop] The instances that can link, looked up again (a reload added, removed or replaced
  // some). Flows under way keep the instance they started with (a DriverLease holds it).
  void refresh_drivers(host::DriverSet& drivers);

  // The instance names that can link, sorted.
  std::vector<std::string> linkable() const;
  size_t pending_links() const { return sessions_.pending(); }

 private:
  struct Linkable {
    host::DriverInstance* instance;
    const oemlink_link_extension* ext;
  };
  struct Link;
  struct Door;

  void start(const std::string& driver, Linkable& l, const net::InboundRequest& req,
             net::ResponderPtr out, bool html);
  void callback(const std::string& driver, Linkable& l, const net::InboundRequest& req,
                net::ResponderPtr out, bool html);
  void mint(const std::string& driver, const net::InboundRequest& req, net::ResponderPtr out);

  void exchanged(uint64_t id, ExchangeOutcome outcome);
  void listed(uint64_t id, VehiclesOutcome outcome);
  void reauthorize(Link& link, std::vector<LinkedVehicle> vehicles);
  void add_connections(Link& link, std::vector<LinkedVehicle> vehicles, boost::json::array refused);
  void stored(uint64_t id, host::ControlResult result, boost::json::array refused);
  void timed_out(uint64_t id);
  void store_mint(const host::ConnectionView& c, std::string request, net::ResponderPtr out);

  // Answers `link` (erasing it) with a refusal counted as link_refused_<reason>.
  void refuse_link(uint64_t id, int status, std::string_view reason, std::string_view message,
                   boost::json::object extra = {});
  void refuse(const net::ResponderPtr& out, bool html, const std::string& driver, int status,
              std::string_view reason, std::string_view message, boost::json::object extra = {});

  boost::json::object connection_json(const host::ConnectionView& c, const LinkedVehicle* v,
                                      const std::string& owner);
  std::string redirect_uri(std::string_view driver) const;
  std::string cookie_path(std::string_view driver) const;
  template <class Outcome>
  std::function<void(Outcome)> on_loop(uint64_t id, void (LinkRoutes::*step)(uint64_t, Outcome));
  host::ControlDone control_done(uint64_t id, boost::json::array refused);

  boost::asio::io_context& io_;
  LinkOptions options_;
  MetricsRegistry& metrics_;
  const host::HostClock& clock_;
  host::ConnectionControl& connections_;
  std::unique_ptr<MintSource> mint_;
  std::map<std::string, Linkable, std::less<>> drivers_;
  LinkSessions sessions_;
  MintGrants grants_;
  std::shared_ptr<Door> door_;
  std::unordered_map<uint64_t, std::unique_ptr<Link>> live_;
  uint64_t next_id_ = 1;
  bool accepting_ = true;
  Counter& starts_;
  Counter& created_;
  Counter& reauthorized_;
  Counter& mints_prepared_;
  Counter& mints_stored_;
  // Refusals: any browser or script can ask for them in a loop.
  LogGate refusal_log_;
};

}  // namespace oemlink::link
