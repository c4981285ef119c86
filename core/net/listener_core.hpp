// What every connection of one HttpListener shares: options, routes, counters, the TLS context,
// the set of open connections, and the door through which answers from other threads reach the
// loop. Internal to core/net (http_listener.cpp, http_session.cpp).
#pragma once

#include "core/common/metrics.hpp"
#include "core/net/http_listener.hpp"
#include "core/net/route_table.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>

namespace oemlink::net::detail {

// Answers come from any thread; once the listener is gone, the loop may be gone too, so a post
// is made only under this lock while the listener lives.
class LoopDoor {
 public:
  explicit LoopDoor(boost::asio::io_context& io) : io_(&io) {}
  template <class Fn>
  bool post(Fn&& fn) {
    std::lock_guard lock(mu_);
    if (!io_) return false;
    boost::asio::post(*io_, std::forward<Fn>(fn));
    return true;
  }
  void shut() {
    std::lock_guard lock(mu_);
    io_ = nullptr;
  }

 private:
  std::mutex mu_;
  boost::asio::io_context* io_;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};

// Why a request was refused: oemlink_http_rejected_total{listener,reason=rejection_name}.
enum class Rejection {
  header_timeout,
  body_timeout,
  body_too_large,
  header_too_large,
  malformed,
  not_found,
  method_not_allowed,
  over_capacity,
  tls_handshake,
  answer_timeout,
  count_
};

struct ListenerCore {
  ListenerCore(boost::asio::io_context& io, ListenerOptions o, RouteTable& r, MetricsRegistry& m);

  boost::asio::io_context& io;
  ListenerOptions opts;
  RouteTable& routes;
  MetricsRegistry& metrics;
  std::shared_ptr<LoopDoor> door;
  std::unique_ptr<boost::asio::ssl::context> ssl;  // null: plain HTTP
  std::unordered_set<SessionBase*> sessions;
  bool accepting = false;
  size_t answering = 0;  // requests handed to a handler whose answer is not written yet

  Counter& accepted;
  Counter& idle_closed;
  Counter& accept_errors;
  Counter& unanswered;  // a Responder dropped without answering (500)

  void reject(Rejection why) { rejected_[static_cast<size_t>(why)]->add(); }
  // oemlink_http_requests_total{listener,route,code}, created on first use. [loop]
  void count_response(const std::string& route, int status);

 private:
  Counter* rejected_[static_cast<size_t>(Rejection::count_)];
  std::map<std::pair<std::string, int>, Counter*> responses_;
};

const char* rejection_name(Rejection why);

}  // namespace oemlink::net::detail
