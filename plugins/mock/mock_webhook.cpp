#include "mock_webhook.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <vector>

namespace oemlink::mock {

void ConnectionDirectory::add(std::string id, ConnHandle conn) {
  std::lock_guard lock(mu_);
  by_handle_[conn] = id;
  by_id_[std::move(id)] = conn;
}

void ConnectionDirectory::remove(ConnHandle conn) {
  std::lock_guard lock(mu_);
  auto it = by_handle_.find(conn);
  if (it == by_handle_.end()) return;
  by_id_.erase(it->second);
  by_handle_.erase(it);
}

ConnHandle ConnectionDirectory::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : it->second;
}

namespace {

WebhookAnswer error(int status, std::string_view why) {
  return {status, boost::json::serialize(boost::json::object{{"error", why}})};
}

std::optional<double> number_of(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

}  // namespace

WebhookAnswer handle_webhook(const Host& host, const ConnectionDirectory& conns,
                             std::string_view body) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (ec) return error(400, "bad JSON: " + ec.message());
  const boost::json::object* root = doc.if_object();
  const boost::json::value* id = root ? root->if_contains("connection") : nullptr;
  const boost::json::value* list = root ? root->if_contains("readings") : nullptr;
  if (!id || !id->is_string() || !list || !list->is_array())
    return error(400, "expected {\"connection\": \"<id>\", \"readings\": [...]}");
  ConnHandle conn = conns.find(id->get_string());
  if (!conn) return error(404, "unknown connection");

  const int64_t now = host.now_ms();
  std::vector<oemlink_reading> readings;
  for (const boost::json::value& item : list->get_array()) {
    const boost::json::object* r = item.if_object();
    const boost::json::value* name = r ? r->if_contains("name") : nullptr;
    if (!name || !name->is_string()) return error(400, "each reading needs a \"name\"");
    std::string_view n = name->get_string();
    int64_t ts = now;
    if (auto t = number_of(r->if_contains("timestamp_ms"))) ts = static_cast<int64_t>(*t);
    if (auto v = number_of(r->if_contains("value"))) {
      readings.push_back(Reading::number(n, ts, *v));
    } else if (const boost::json::value* t = r->if_contains("text"); t && t->is_string()) {
      readings.push_back(Reading::text(n, ts, t->get_string()));
    } else if (auto lat = number_of(r->if_contains("latitude"))) {
      auto lon = number_of(r->if_contains("longitude"));
      if (!lon) return error(400, "a location needs \"longitude\" too");
      readings.push_back(Reading::location(n, ts, *lat, *lon));
    } else {
      return error(400, "reading \"" + std::string(n) + "\" has no value, text or latitude");
    }
  }
  // Emitted before answering: the host holds the 200 until these are durable.
  switch (host.emit(conn, readings)) {
    case OEMLINK_OK:
      return {200, R"({"ok":true})"};
    case OEMLINK_RETRY:
      return error(503, "back-pressure; retry later");
    default:
      return error(422, "the host rejected some readings");
  }
}

}  // namespace oemlink::mock
