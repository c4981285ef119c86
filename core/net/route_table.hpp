// RouteTable: the inbound server's explicit routes, by method and path. A path is matched
// exactly ("/webhooks/smartcar"), or as a prefix when it ends in "/*" ("/link/*" matches
// "/link/" and everything below it). Exact paths win over prefixes, longer prefixes over
// shorter ones. A path known under other methods answers 405 with Allow; an unknown one 404.
//
// Each route has a name (lower case, [a-z0-9_]) that labels its counters:
// oemlink_http_requests_total{listener,route,code}.
//
// Threading: add() and find() on the listener's loop thread (routes may be added while it runs).
#pragma once

#include "core/net/inbound_http.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::net {

struct Route {
  std::string method;
  std::string path;  // as registered, "/x" or "/x/*"
  std::string name;
  RouteHandler handler;
};

class RouteTable {
 public:
  // Throws std::invalid_argument when method+path is already registered, the path does not start
  // with '/', or the name is not [a-z0-9_]+.
  void add(std::string method, std::string path, std::string name, RouteHandler handler);
  // Removes method+path; false when it was not registered.
  bool remove(std::string_view method, std::string_view path);

  struct Lookup {
    const Route* route = nullptr;  // null: 404 when `allow` is empty, else 405
    std::string allow;             // the methods the path has, "GET, POST"
  };
  Lookup find(std::string_view method, std::string_view path) const;

  size_t size() const;

 private:
  // path pattern -> its routes (one per method)
  std::map<std::string, std::vector<std::unique_ptr<Route>>, std::less<>> exact_;
  std::map<std::string, std::vector<std::unique_ptr<Route>>, std::less<>> prefix_;
};

}  // namespace oemlink::net
