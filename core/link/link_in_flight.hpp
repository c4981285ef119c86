// LinkRoutes' private pieces shared by its files (link_routes.cpp, link_callback.cpp): one
// callback being served, and the door its driver's completions come back through.
#pragma once

#include "core/host/driver_set.hpp"

#include "core/link/link_routes.hpp"

#include <boost/asio/steady_timer.hpp>

#include <mutex>

namespace oemlink::link {

struct LinkRoutes::Link {
  explicit Link(boost::asio::io_context& io) : deadline(io) {}
  uint64_t id = 0;
  net::ResponderPtr out;
  bool html = false;
  std::string driver;
  Linkable linkable{};
  host::DriverLease lease;  // a reload keeps the instance until the flow is done with it
  LinkRequest request;
  std::string redirect_uri;
  host::SecretPairs secrets;            // from the exchange, until stored
  std::vector<LinkedVehicle> vehicles;  // as listed, for the answer's mint inputs
  bool storing = false;                 // ConnectionControl has it: finishes even while draining
  boost::asio::steady_timer deadline;   // the driver's exchange and listing together
};

// Open from construction to close(). Completions from drivers' threads take `mu` to read it.
struct LinkRoutes::Door {
  std::mutex mu;
  bool open = true;
  boost::asio::io_context* io = nullptr;
  LinkRoutes* owner = nullptr;
};

}  // namespace oemlink::link
