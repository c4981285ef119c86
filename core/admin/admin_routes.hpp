// The admin API's routes over host::ConnectionControl, each request authenticated first:
//
//   GET  /admin/connections?after=&limit=&state=   a page of views, ordered by id
//   POST /admin/connections                        add {"connections":[...]}
//   GET  /admin/connections/counts                 connections by state
//   GET  /admin/connections/<id>                   one view with its mint request
//   POST /admin/connections/<id>/pause|resume|revoke|poll|tokens
//
// ControlError maps to 200/404/409/400/503; every error answer is {"error": "..."}. Ids are one
// percent-decoded path segment. README.md has the bodies and answers.
//
// Threading: handlers and ConnectionControl calls on the loop thread; an answer may come later
// (ControlDone), through the request's Responder. A large add body is read, and a large add
// answer written, on one worker thread of the routes' own.
#pragma once

#include "core/admin/bearer_token.hpp"
#include "core/common/metrics.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/host/connection_control.hpp"
#include "core/net/route_table.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>
#include <vector>

namespace oemlink::admin {

struct AdminAuth {
  BearerToken token;                 // not configured: bearer tokens are refused
  bool client_certificates = false;  // a verified client certificate is enough
};

class AdminRoutes {
 public:
  AdminRoutes(boost::asio::io_context& io, host::ConnectionControl& control, AdminAuth auth,
              MetricsRegistry& metrics);
  ~AdminRoutes();  // [loop] waits for the worker
  AdminRoutes(const AdminRoutes&) = delete;
  AdminRoutes& operator=(const AdminRoutes&) = delete;

  void add_to(net::RouteTable& routes);
  // Shutdown: requests from now on are answered 503.
  void stop_accepting() { accepting_ = false; }

 private:
  using Handler = void (AdminRoutes::*)(net::InboundRequest&, const net::ResponderPtr&,
                                        const std::string& who);
  net::RouteHandler guarded(Handler handler);
  // "127.0.0.1:5123 (token)" or "... (cert /CN=ops)": who asked, for the audit lines.
  static std::string who(const net::InboundRequest& req);
  bool authenticated(const net::InboundRequest& req) const;

  void list(net::InboundRequest& req, const net::ResponderPtr& out, const std::string& who);
  void add(net::InboundRequest& req, const net::ResponderPtr& out, const std::string& who);
  void add_parsed(std::vector<host::NewConnection> connections, const net::ResponderPtr& out,
                  const std::string& who);
  void counts(net::InboundRequest& req, const net::ResponderPtr& out, const std::string& who);
  void show(net::InboundRequest& req, const net::ResponderPtr& out, const std::string& who);
  void action(net::InboundRequest& req, const net::ResponderPtr& out, const std::string& who);

  boost::asio::io_context& io_;
  host::ConnectionControl& control_;
  AdminAuth auth_;
  MetricsRegistry& metrics_;
  Counter& auth_failures_;
  Counter& requests_;
  LogGate refusal_log_;
  bool accepting_ = true;
  // Reads large add bodies and writes large answers off the loop. alive_ is read and cleared on
  // the loop only: what the worker posts back checks it before touching anything here.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  boost::asio::thread_pool pool_{1};
};

}  // namespace oemlink::admin
