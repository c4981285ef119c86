#include "core/net/route_table.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace oemlink::net {
namespace {

bool valid_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string allow_of(const std::vector<std::unique_ptr<Route>>& routes) {
  std::vector<std::string_view> methods;
  for (auto& r : routes) methods.push_back(r->method);
  std::sort(methods.begin(), methods.end());
  std::string out;
  for (auto m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

const Route* with_method(const std::vector<std::unique_ptr<Route>>& routes,
                         std::string_view method) {
  for (auto& r : routes)
    if (r->method == method) return r.get();
  return nullptr;
}

}  // namespace

std::string_view InboundRequest::header(std::string_view name) const {
  for (auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  }
  return {};
}

void RouteTable::add(std::string method, std::string path, std::string name, RouteHandler handler) {
  if (path.empty() || path.front() != '/')
    throw std::invalid_argument("route path '" + path + "' must start with '/'");
  if (!valid_name(name))
    throw std::invalid_argument("route name '" + name + "' must match [a-z0-9_]+");
  if (method.empty()) throw std::invalid_argument("route " + path + ": no method");
  bool is_prefix = path.size() >= 2 && path.ends_with("/*");
  auto& table = is_prefix ? prefix_ : exact_;
  std::string key = is_prefix ? path.substr(0, path.size() - 1) : path;  // keeps the '/'
  auto& routes = table[key];
  if (with_method(routes, method))
    throw std::invalid_argument("route " + method + " " + path + " is already registered");
  routes.push_back(std::make_unique<Route>(
      Route{std::move(method), std::move(path), std::move(name), std::move(handler)}));
}

bool RouteTable::remove(std::string_view method, std::string_view path) {
  bool is_prefix = path.size() >= 2 && path.ends_with("/*");
  auto& table = is_prefix ? prefix_ : exact_;
  auto it = table.find(is_prefix ? path.substr(0, path.size() - 1) : path);
  if (it == table.end()) return false;
  auto& routes = it->second;
  auto r = std::find_if(routes.begin(), routes.end(),
                        [&](const std::unique_ptr<Route>& x) { return x->method == method; });
  if (r == routes.end()) return false;
  routes.erase(r);
  if (routes.empty()) table.erase(it);
  return true;
}

RouteTable::Lookup RouteTable::find(std::string_view method, std::string_view path) const {
  Lookup out;
  const std::vector<std::unique_ptr<Route>>* routes = nullptr;
  if (auto it = exact_.find(path); it != exact_.end()) {
    routes = &it->second;
  } else {
    // Longest matching prefix; a server has a handful of prefixes, so a scan will do.
    size_t best = 0;
    for (auto& [key, rs] : prefix_) {
      if (path.starts_with(key) && key.size() > best) {
        best = key.size();
        routes = &rs;
      }
    }
  }
  if (!routes) return out;
  out.route = with_method(*routes, method);
  if (!out.route) out.allow = allow_of(*routes);
  return out;
}

size_t RouteTable::size() const {
  size_t n = 0;
  for (auto& [k, v] : exact_) n += v.size();
  for (auto& [k, v] : prefix_) n += v.size();
  return n;
}

}  // namespace oemlink::net
