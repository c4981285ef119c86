#include "core/net/http_session.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <type_traits>

namespace oemlink::net::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The answer text for a status the server gives itself.
const char* reason_text(int status) {
  switch (status) {
    case 400:
      return "malformed request\n";
    case 404:
      return "no such route\n";
    case 405:
      return "method not allowed\n";
    case 408:
      return "request not received in time\n";
    case 413:
      return "request body too large\n";
    case 431:
      return "request header too large\n";
    case 500:
      return "the handler gave no answer\n";
    case 503:
      return "no answer in time; retry later\n";
    default:
      return "";
  }
}

bool skipped_header(std::string_view name) {
  auto eq = [&](std::string_view x) {
    return name.size() == x.size() &&
           std::equal(name.begin(), name.end(), x.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  return eq("content-length") || eq("connection") || eq("transfer-encoding") || eq("date");
}

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

 public:
  Session(std::shared_ptr<ListenerCore> core, tcp::socket socket)
      : core_(std::move(core)),
        stream_(make_stream(std::move(socket), *core_)),
        deadline_(core_->io) {}

  ~Session() override { core_->sessions.erase(this); }

  void start() {
    core_->sessions.insert(this);
    error_code ec;
    auto ep = lowest().remote_endpoint(ec);
    if (!ec) peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    lowest().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) {
      phase_ = Phase::handshake;
      arm(core_->opts.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const error_code& e) {
                                if (self->phase_ == Phase::closed) return;  // timed out
                                if (e) {
                                  self->core_->reject(Rejection::tls_handshake);
                                  self->close();
                                  return;
                                }
                                self->note_client_certificate();
                                self->read_request(/*first=*/true);
                              });
    } else {
      read_request(/*first=*/true);
    }
  }

  void close() override {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    set_answering(false);
    ++exchange_;  // answers still on their way are dropped
    deadline_.cancel();
    error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
    core_->sessions.erase(this);
  }

  // [loop] A handler's answer for exchange `id`.
  void answer(uint64_t id, InboundResponse&& r) {
    if (id != exchange_ || phase_ != Phase::answer) return;
    write(r.status, std::move(r.headers), std::move(r.body), keep_alive_);
  }

  void unanswered(uint64_t id) {
    if (id != exchange_ || phase_ != Phase::answer) return;
    core_->unanswered.add();
    write(500, {}, reason_text(500), keep_alive_);
  }

 private:
  enum class Phase { handshake, idle, header, body, answer, write, closed };

  static Stream make_stream(tcp::socket s, ListenerCore& core) {
    if constexpr (kTls) {
      return Stream(std::move(s), *core.ssl);
    } else {
      return s;
    }
  }

  tcp::socket& lowest() { return beast::get_lowest_layer(stream_); }

  // After the handshake: a certificate the client presented that verified against the
  // listener's client CA. Nothing when the listener asks for none.
  void note_client_certificate() {
    if constexpr (kTls) {
      if (core_->opts.client_ca_file.empty()) return;
      SSL* ssl = stream_.native_handle();
      X509* cert = SSL_get0_peer_certificate(ssl);
      if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return;
      client_verified_ = true;
      char subject[256];
      if (X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject))
        client_subject_ = subject;
    }
  }

  void set_answering(bool on) {
    if (on == answering_) return;
    answering_ = on;
    if (on)
      ++core_->answering;
    else
      --core_->answering;
  }

  void arm(std::chrono::milliseconds d) {
    uint64_t gen = ++deadline_gen_;
    deadline_.expires_after(d);
    deadline_.async_wait([self = this->shared_from_this(), gen](const error_code& ec) {
      if (ec || gen != self->deadline_gen_) return;
      self->on_deadline();
    });
  }

  void on_deadline() {
    switch (phase_) {
      case Phase::handshake:
        core_->reject(Rejection::tls_handshake);
        close();
        return;
      case Phase::idle:
        core_->idle_closed.add();
        close();
        return;
      case Phase::header:
      case Phase::body: {
        timed_out_ = true;
        error_code ec;
        lowest().cancel(ec);  // the read completes with operation_aborted and answers 408
        return;
      }
      case Phase::answer:
        core_->reject(Rejection::answer_timeout);
        write(503, {}, reason_text(503), /*keep_alive=*/false);
        return;
      case Phase::write:
      case Phase::closed:
        close();
        return;
    }
  }

  void read_request(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(core_->opts.max_header));
    parser_->body_limit(core_->opts.max_body);
    timed_out_ = false;
    route_name_ = "none";
    // An idle connection keeps no request-sized buffer: a thousand of them stay small.
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    if constexpr (!kTls) {
      if (!first && buffer_.size() == 0) {
        // Between requests the idle timeout applies; the header timeout starts with the first
        // byte of the next request, so a dribbled header is cut off as on a fresh connection.
        phase_ = Phase::idle;
        arm(core_->opts.idle_timeout);
        lowest().async_wait(tcp::socket::wait_read,
                            [self = this->shared_from_this()](const error_code& ec) {
                              if (ec || self->phase_ != Phase::idle) {
                                if (self->phase_ == Phase::idle) self->close();
                                return;
                              }
                              self->read_header(self->core_->opts.header_timeout);
                            });
        return;
      }
    }
    // TLS may hold a decrypted request already, so there is no socket-level wait: between
    // requests the header must arrive within the idle timeout.
    read_header(first            ? header_time_left()
                : buffer_.size() ? core_->opts.header_timeout
                                 : core_->opts.idle_timeout);
  }

  // The first header's timeout runs from accept: a TLS handshake spends from it, so a client
  // cannot hold a connection for a slow handshake and then a second full timeout.
  std::chrono::milliseconds header_time_left() const {
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - accepted_);
    return std::max(core_->opts.header_timeout - spent, std::chrono::milliseconds(0));
  }

  void read_header(std::chrono::milliseconds limit) {
    phase_ = Phase::header;
    arm(limit);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](const error_code& ec, size_t) { self->on_header(ec); });
  }

  bool nothing_received() const { return !parser_->got_some() && buffer_.size() == 0; }

  void on_header(const error_code& ec) {
    if (phase_ == Phase::closed) return;
    if (ec) {
      if (timed_out_) {
        if (nothing_received() && requests_ > 0) {
          core_->idle_closed.add();
          close();
          return;
        }
        return reject(408, Rejection::header_timeout);
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated ||
          ec == asio::error::operation_aborted)
        return close();
      if (ec == http::error::header_limit) return reject(431, Rejection::header_too_large);
      if (ec == http::error::body_limit) return reject(413, Rejection::body_too_large);
      return reject(400, Rejection::malformed);
    }
    auto& req = parser_->get();
    // Only plain "chunked" frames a body here. Any other coding, or chunked not last, leaves the
    // length to guesswork: Beast reads no body and takes its bytes for the next request, while a
    // proxy in front may frame it otherwise — how requests are smuggled (RFC 9112 §6.3).
    if (req.count(http::field::transfer_encoding) &&
        (req.count(http::field::transfer_encoding) != 1 || !parser_->chunked() ||
         !beast::iequals(req[http::field::transfer_encoding], "chunked")))
      return reject(400, Rejection::malformed);
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view method(req.method_string().data(), req.method_string().size());
    RouteTable::Lookup found = core_->routes.find(method, path);
    if (!found.route) {
      // The body, if any, is not read: the connection is closed after the answer.
      const bool no_body = parser_->is_done();
      if (found.allow.empty()) return reject(404, Rejection::not_found, no_body);
      return reject(405, Rejection::method_not_allowed, no_body, std::move(found.allow));
    }
    route_name_ = found.route->name;
    handler_ = found.route->handler;
    if (parser_->is_done()) return dispatch();
    phase_ = Phase::body;
    arm(core_->opts.body_timeout);
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](const error_code& e, size_t) {
                          if (e) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](const error_code& ec, size_t) { self->on_body(ec); });
  }

  void on_body(const error_code& ec) {
    if (phase_ == Phase::closed) return;
    if (ec) {
      if (timed_out_) return reject(408, Rejection::body_timeout);
      if (ec == http::error::body_limit) return reject(413, Rejection::body_too_large);
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == http::error::partial_message ||
          ec == asio::error::operation_aborted)
        return close();
      return reject(400, Rejection::malformed);
    }
    dispatch();
  }

  void dispatch();

  void reject(int status, Rejection why, bool keep_alive = false, std::string allow = {}) {
    core_->reject(why);
    HeaderList headers;
    if (!allow.empty()) headers.emplace_back("Allow", std::move(allow));
    write(status, std::move(headers), reason_text(status),
          keep_alive && parser_ && parser_->get().keep_alive());
  }

  void write(int status, HeaderList headers, std::string body, bool keep_alive) {
    ++exchange_;  // this exchange is answered: a later answer for it is dropped
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(status));
    bool typed = false;
    for (auto& [k, v] : headers) {
      if (skipped_header(k)) continue;
      if (beast::iequals(k, "content-type")) typed = true;
      res->insert(k, v);
    }
    // These statuses have no body (RFC 9110 §15.3.5, §15.4.5); Beast refuses to frame one.
    if (status == 204 || status == 304 || status < 200) body.clear();
    if (!typed && !body.empty()) res->set(http::field::content_type, "text/plain");
    res->body() = std::move(body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    core_->count_response(route_name_, status);
    phase_ = Phase::write;
    arm(core_->opts.write_timeout);
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](const error_code& ec, size_t) {
          if (self->phase_ == Phase::closed) return;
          self->set_answering(false);
          if (ec || !keep_alive) return self->close();
          self->read_request(/*first=*/false);
        });
  }

  std::shared_ptr<ListenerCore> core_;
  const std::chrono::steady_clock::time_point accepted_ = std::chrono::steady_clock::now();
  Stream stream_;
  asio::steady_timer deadline_;
  uint64_t deadline_gen_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::idle;
  bool timed_out_ = false;
  bool keep_alive_ = false;
  bool answering_ = false;
  uint64_t exchange_ = 0;
  uint64_t requests_ = 0;
  std::string route_name_ = "none";
  RouteHandler handler_;
  std::string peer_;
  bool client_verified_ = false;
  std::string client_subject_;
};

// Answers one exchange of one session; the session may be gone by the time it is called.
template <class Stream>
class ExchangeResponder final : public Responder {
 public:
  ExchangeResponder(std::shared_ptr<LoopDoor> door, std::weak_ptr<Session<Stream>> session,
                    uint64_t id)
      : door_(std::move(door)), session_(std::move(session)), id_(id) {}

  ~ExchangeResponder() override {
    if (answered_.exchange(true)) return;
    door_->post([s = session_, id = id_] {
      if (auto session = s.lock()) session->unanswered(id);
    });
  }

  bool respond(InboundResponse response) override {
    if (answered_.exchange(true)) return false;
    return door_->post([s = session_, id = id_, r = std::move(response)]() mutable {
      if (auto session = s.lock()) session->answer(id, std::move(r));
    });
  }

 private:
  std::shared_ptr<LoopDoor> door_;
  std::weak_ptr<Session<Stream>> session_;
  uint64_t id_;
  std::atomic<bool> answered_{false};
};

template <class Stream>
void Session<Stream>::dispatch() {
  ++requests_;
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  InboundRequest in;
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  in.path = in.target.substr(0, in.target.find('?'));
  in.headers.reserve(std::distance(req.begin(), req.end()));
  for (auto& f : req) in.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  in.body = std::move(req.body());
  in.peer = peer_;
  in.client_verified = client_verified_;
  in.client_subject = client_subject_;
  parser_.reset();
  phase_ = Phase::answer;
  set_answering(true);
  arm(core_->opts.answer_timeout);
  uint64_t id = ++exchange_;
  auto responder =
      std::make_shared<ExchangeResponder<Stream>>(core_->door, this->weak_from_this(), id);
  RouteHandler handler = std::move(handler_);
  try {
    handler(std::move(in), std::move(responder));
  } catch (...) {
    // The responder was moved into the call and is gone with it: it answers 500.
  }
}

}  // namespace

void start_session(const std::shared_ptr<ListenerCore>& core, tcp::socket socket) {
  if (core->ssl) {
    std::make_shared<Session<asio::ssl::stream<tcp::socket>>>(core, std::move(socket))->start();
  } else {
    std::make_shared<Session<tcp::socket>>(core, std::move(socket))->start();
  }
}

}  // namespace oemlink::net::detail
