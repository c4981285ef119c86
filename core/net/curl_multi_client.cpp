// CurlMultiClient: libcurl's multi_socket API with Asio as the event loop.
//
// curl tells us which fds to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
// (CURLMOPT_TIMERFUNCTION); we map those onto stream_descriptor::async_wait and one steady_timer
// and report readiness back through curl_multi_socket_action. curl owns every socket: a
// descriptor is only ever release()d, never closed, by Asio.
#include "core/net/http_client.hpp"

#include "core/net/clock_skew_estimator.hpp"
#include "core/net/curl_error_names.hpp"
#include "core/net/response_header_parser.hpp"

#include <curl/curl.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace oemlink::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

void global_init_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw std::runtime_error("curl_global_init failed: " + describe_curl_error(result, {}));
  }
}

HttpResponse failure(std::string error, bool timed_out = false) {
  HttpResponse response;
  response.error = std::move(error);
  response.timed_out = timed_out;
  return response;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != s.npos) {
      return false;
    }
  }
  return true;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != s.npos;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// One fd curl asked us to watch. Shared with pending async_wait handlers so that a handler
// completing after curl dropped the socket finds `detached` instead of freed memory.
struct Watch {
  Watch(asio::io_context& io, curl_socket_t s) : descriptor(io), fd(s) {}
  ~Watch() { detach(); }

  // Cancels pending waits (they complete with operation_aborted) and removes the fd from the
  // reactor without closing it: the fd belongs to curl.
  void detach() {
    detached = true;
    if (descriptor.is_open()) descriptor.release();
  }

  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd;
  int wanted = 0;  // CURL_POLL_IN / CURL_POLL_OUT bits
  bool read_pending = false;
  bool write_pending = false;
  bool detached = false;
};

// One request between curl_multi_add_handle and completion.
struct Transfer {
  bool https = false;  // its Date may teach the clock (plain http:// answers are forgeable)
  ~Transfer() {
    // The easy handle must be out of the multi before this runs.
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(header_list);
    if (url != nullptr) curl_url_cleanup(url);
  }

  CURL* easy = nullptr;
  CURLU* url = nullptr;
  curl_slist* header_list = nullptr;
  HttpRequest request;  // owns the body curl sends from (CURLOPT_POSTFIELDS does not copy)
  HttpDone done;
  ResponseHeaderParser headers;
  std::string body;
  size_t max_body = 0;
  bool body_too_large = false;
  char error[CURL_ERROR_SIZE] = {};
};

}  // namespace

struct CurlMultiClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, HttpClientOptions opts)
      : io(io_context), options(std::move(opts)), timer(io_context) {
    global_init_once();
    multi = curl_multi_init();
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    // The total never caps below one host's share: an operator who raises
    // max_connections_per_host (HTTP/1.1 APIs need one connection per request in flight) must
    // get them, not a silent 256.
    const long total = std::max(options.max_total_connections, options.max_connections_per_host);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_connections_per_host);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
    // The idle cache must hold at least as many connections as may be open, or bursts of
    // requests would close connections that are about to be reused.
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, total);
  }

  ~Impl() { close(); }

  // ---- lifecycle ----------------------------------------------------------------------------

  // Tears everything down without running callbacks (destructor semantics).
  void close() {
    if (closed) return;
    closed = true;
    timer.cancel();
    for (auto& [easy, transfer] : transfers) curl_multi_remove_handle(multi, easy);
    transfers.clear();
    // Closes cached connections through on_close_socket, which detaches their watches.
    curl_multi_cleanup(multi);
    multi = nullptr;
    for (auto& [fd, watch] : watches) watch->detach();
    watches.clear();
  }

  void shutdown() {
    auto keep_alive = shared_from_this();  // a `done` may destroy the client
    if (closed) return;
    stopping = true;
    std::vector<HttpDone> aborted;
    aborted.reserve(transfers.size());
    for (auto& [easy, transfer] : transfers) {
      curl_multi_remove_handle(multi, easy);
      aborted.push_back(std::move(transfer->done));
    }
    transfers.clear();
    for (auto& done : aborted) {
      if (closed) return;
      finish(done, failure("shutdown"));
    }
  }

  // ---- starting a request (io thread) --------------------------------------------------------

  void start(HttpRequest request, HttpDone done) {
    if (closed) return;
    if (stopping) return finish(done, failure("shutdown"));

    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    if (auto error = configure(*transfer); !error.empty()) {
      return finish(transfer->done, failure(std::move(error)));
    }
    CURL* easy = transfer->easy;
    if (CURLMcode rc = curl_multi_add_handle(multi, easy); rc != CURLM_OK) {
      return finish(transfer->done,
                    failure(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc)));
    }
    transfers.emplace(easy, std::move(transfer));
  }

  // Validates the request and sets up its easy handle; returns an error text on failure.
  std::string configure(Transfer& t) {
    const HttpRequest& req = t.request;

    t.url = curl_url();
    if (t.url == nullptr) return "out of memory";
    if (CURLUcode rc = curl_url_set(t.url, CURLUPART_URL, req.url.c_str(), 0); rc != CURLUE_OK) {
      // The URL itself stays out of error texts: query strings may carry tokens.
      return std::string("invalid URL: ") + curl_url_strerror(rc);
    }
    char* scheme = nullptr;
    curl_url_get(t.url, CURLUPART_SCHEME, &scheme, 0);
    const std::string scheme_text = scheme != nullptr ? scheme : "";
    curl_free(scheme);
    t.https = scheme_text == "https";
    if (scheme_text == "http" && !options.allow_plain_http) {
      return "plain http:// refused (allow_plain_http is off)";
    }
    if (scheme_text != "http" && scheme_text != "https") {
      return "unsupported URL scheme '" + scheme_text + "': only http and https are allowed";
    }
    if (!is_token(req.method)) return "invalid HTTP method";

    bool caller_sets_expect = false;
    for (const auto& [name, value] : req.headers) {
      if (!is_token(name) || has_line_break(value)) {
        return is_token(name) ? "invalid value for request header '" + name + "'"
                              : std::string("invalid request header name");
      }
      if (iequals(name, "Expect")) caller_sets_expect = true;
      // "Name;" is curl's spelling for a header with an empty value ("Name:" would remove it).
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* grown = curl_slist_append(t.header_list, line.c_str());
      if (grown == nullptr) return "out of memory";
      t.header_list = grown;
    }
    if (!caller_sets_expect) {
      // curl sends "Expect: 100-continue" for large bodies and then stalls up to a second on
      // servers that do not answer it; cloud APIs gain nothing from it.
      curl_slist* grown = curl_slist_append(t.header_list, "Expect:");
      if (grown == nullptr) return "out of memory";
      t.header_list = grown;
    }

    t.easy = curl_easy_init();
    if (t.easy == nullptr) return "curl_easy_init failed";
    t.max_body = options.max_response_bytes;

    CURLcode first_error = CURLE_OK;
    const char* failed_option = nullptr;
    // A macro rather than a helper so curl's compile-time setopt type checks still apply.
#define OEMLINK_SET(option, value)                                                 \
  do {                                                                             \
    if (first_error == CURLE_OK) {                                                 \
      if (CURLcode rc = curl_easy_setopt(t.easy, option, value); rc != CURLE_OK) { \
        first_error = rc;                                                          \
        failed_option = #option;                                                   \
      }                                                                            \
    }                                                                              \
  } while (false)
    OEMLINK_SET(CURLOPT_ERRORBUFFER, t.error);
    OEMLINK_SET(CURLOPT_CURLU, t.url);
    OEMLINK_SET(CURLOPT_NOSIGNAL, 1L);
    const char* protocols = options.allow_plain_http ? "http,https" : "https";
    OEMLINK_SET(CURLOPT_PROTOCOLS_STR, protocols);
    OEMLINK_SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    OEMLINK_SET(CURLOPT_FOLLOWLOCATION, 0L);
    const auto timeout = req.timeout.count() > 0 ? req.timeout : options.default_timeout;
    OEMLINK_SET(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    OEMLINK_SET(CURLOPT_TCP_KEEPALIVE, 1L);
    OEMLINK_SET(CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    OEMLINK_SET(CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    // A floor, not a pin: TLS 1.0 and 1.1 are refused, 1.3 is used where the server has it.
    OEMLINK_SET(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    if (!options.ca_file.empty()) OEMLINK_SET(CURLOPT_CAINFO, options.ca_file.c_str());
    if (!req.identity.cert_file.empty()) {
      OEMLINK_SET(CURLOPT_SSLCERT, req.identity.cert_file.c_str());
      OEMLINK_SET(CURLOPT_SSLCERTTYPE, "PEM");
      if (!req.identity.key_file.empty()) {
        OEMLINK_SET(CURLOPT_SSLKEY, req.identity.key_file.c_str());
        OEMLINK_SET(CURLOPT_SSLKEYTYPE, "PEM");
      }
    }
    OEMLINK_SET(CURLOPT_HEADERFUNCTION, &Impl::on_header);
    OEMLINK_SET(CURLOPT_HEADERDATA, static_cast<void*>(&t));
    OEMLINK_SET(CURLOPT_WRITEFUNCTION, &Impl::on_body);
    OEMLINK_SET(CURLOPT_WRITEDATA, static_cast<void*>(&t));
    OEMLINK_SET(CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket);
    OEMLINK_SET(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
    OEMLINK_SET(CURLOPT_HTTPHEADER, t.header_list);

    const std::string& method = req.method;
    if (method == "HEAD") {
      OEMLINK_SET(CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && req.body.empty()) {
      OEMLINK_SET(CURLOPT_HTTPGET, 1L);
    } else {
      if (!req.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        OEMLINK_SET(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        OEMLINK_SET(CURLOPT_POSTFIELDS, req.body.data());
      }
      if (method != "POST") OEMLINK_SET(CURLOPT_CUSTOMREQUEST, method.c_str());
    }
#undef OEMLINK_SET
    if (first_error != CURLE_OK) {
      return std::string("curl_easy_setopt(") + failed_option +
             "): " + describe_curl_error(first_error, {});
    }
    return {};
  }

  // ---- curl callbacks (run inside curl_multi_* calls) ---------------------------------------

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      self->forget(fd);
      return 0;
    }
    auto it = self->watches.find(fd);
    if (it == self->watches.end()) {
      auto watch = std::make_shared<Watch>(self->io, fd);
      error_code ec;
      watch->descriptor.assign(fd, ec);
      if (ec) {
        // Returning -1 would mark the whole multi handle dead; fail just this socket's
        // transfer by reporting an error on it instead.
        asio::post(self->io, [weak = self->weak_from_this(), fd] {
          auto me = weak.lock();
          if (!me || me->closed) return;
          int running = 0;
          curl_multi_socket_action(me->multi, fd, CURL_CSELECT_ERR, &running);
          me->drain_completed();
        });
        return 0;
      }
      it = self->watches.emplace(fd, std::move(watch)).first;
    }
    it->second->wanted = what & (CURL_POLL_IN | CURL_POLL_OUT);
    self->arm(it->second);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (self->closed) return 0;
    if (timeout_ms < 0) {
      self->timer.cancel();
      return 0;
    }
    // Even a 0 ms timeout goes through the timer: curl forbids calling socket_action from here.
    self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer.async_wait([weak = self->weak_from_this()](error_code ec) {
      if (ec) return;  // re-armed or cancelled
      if (auto me = weak.lock(); me && !me->closed) me->on_timeout();
    });
    return 0;
  }

  // curl calls this instead of close(): the fd must leave the reactor before its number can be
  // reused by the next socket() call.
  static int on_close_socket(void* clientp, curl_socket_t fd) {
    static_cast<Impl*>(clientp)->forget(fd);
    return ::close(fd);
  }

  static size_t on_header(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    t->headers.feed(std::string_view(data, size * count));
    return size * count;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t n = size * count;
    if (t->body.size() + n > t->max_body) {
      t->body_too_large = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    t->body.append(data, n);
    return n;
  }

  // ---- event plumbing ------------------------------------------------------------------------

  void forget(curl_socket_t fd) {
    auto it = watches.find(fd);
    if (it == watches.end()) return;
    it->second->detach();
    watches.erase(it);
  }

  // Keeps one wait per direction outstanding while curl wants that direction. A wait whose
  // direction curl no longer wants stays queued and is ignored when it fires.
  void arm(const std::shared_ptr<Watch>& watch) {
    if (watch->detached) return;
    if ((watch->wanted & CURL_POLL_IN) && !watch->read_pending) {
      watch->read_pending = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   [weak = weak_from_this(), watch](error_code ec) {
                                     watch->read_pending = false;
                                     if (auto me = weak.lock())
                                       me->on_ready(watch, CURL_CSELECT_IN, ec);
                                   });
    }
    if ((watch->wanted & CURL_POLL_OUT) && !watch->write_pending) {
      watch->write_pending = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                   [weak = weak_from_this(), watch](error_code ec) {
                                     watch->write_pending = false;
                                     if (auto me = weak.lock())
                                       me->on_ready(watch, CURL_CSELECT_OUT, ec);
                                   });
    }
  }

  void on_ready(const std::shared_ptr<Watch>& watch, int direction, error_code ec) {
    if (closed || watch->detached || ec == asio::error::operation_aborted) return;
    const int wanted_bit = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
    if (!(watch->wanted & wanted_bit)) return;
    int running = 0;
    curl_multi_socket_action(multi, watch->fd, ec ? CURL_CSELECT_ERR : direction, &running);
    arm(watch);  // before callbacks: a `done` may destroy the client
    drain_completed();
  }

  void on_timeout() {
    int running = 0;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_completed();
  }

  void drain_completed() {
    std::vector<std::pair<HttpDone, HttpResponse>> finished;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;  // msg dies with remove_handle; copy what we need
      const CURLcode result = msg->data.result;
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      transfers.erase(it);
      curl_multi_remove_handle(multi, easy);
      finished.emplace_back(std::move(transfer->done), make_response(*transfer, result));
    }
    // Callbacks last: they may start requests, call shutdown() or destroy the client.
    for (auto& [done, response] : finished) {
      if (closed) return;
      finish(done, std::move(response));
    }
  }

  // Whether an answer's Date says what time it is now: over TLS (a plain answer can be forged on
  // the path), not from a cache (Age: the Date is when it was first made), not a 304 (ditto).
  static bool learns_time(const Transfer& t, const HttpResponse& r) {
    if (!t.https || r.status == 304) return false;
    for (const auto& [name, value] : r.headers)
      if (name.size() == 3 && strncasecmp(name.c_str(), "age", 3) == 0) return false;
    return true;
  }

  HttpResponse make_response(Transfer& t, CURLcode result) {
    if (t.body_too_large) {
      return failure("response body exceeds max_response_bytes (" +
                     std::to_string(options.max_response_bytes) + ")");
    }
    if (result != CURLE_OK) {
      return failure(describe_curl_error(result, t.error), result == CURLE_OPERATION_TIMEDOUT);
    }
    HttpResponse response;
    response.transport_ok = true;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.headers = t.headers.take();
    response.body = std::move(t.body);
    if (options.clock_skew && learns_time(t, response)) {
      for (const auto& [name, value] : response.headers) {
        if (name.size() != 4 || strncasecmp(name.c_str(), "date", 4) != 0) continue;
        options.clock_skew->observe_date_header(value, ClockSkewEstimator::steady_now_ms(),
                                                options.clock_authoritative);
        break;
      }
    }
    return response;
  }

  void finish(HttpDone& done, HttpResponse&& response) {
    outstanding.fetch_sub(1, std::memory_order_relaxed);
    if (done) done(std::move(response));
  }

  asio::io_context& io;
  const HttpClientOptions options;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::atomic<size_t> outstanding{0};  // request() .. done; written from any thread
  bool stopping = false;               // shutdown(): refuse new requests
  bool closed = false;                 // destroyed: no more callbacks at all
};

CurlMultiClient::CurlMultiClient(boost::asio::io_context& io, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

CurlMultiClient::~CurlMultiClient() {
  if (impl_) impl_->close();
}

void CurlMultiClient::request(HttpRequest request, HttpDone done) {
  impl_->outstanding.fetch_add(1, std::memory_order_relaxed);
  // Always posted, even on the io thread: `done` must never run inside request().
  boost::asio::post(impl_->io, [weak = std::weak_ptr<Impl>(impl_), request = std::move(request),
                                done = std::move(done)]() mutable {
    if (auto impl = weak.lock()) impl->start(std::move(request), std::move(done));
  });
}

size_t CurlMultiClient::in_flight() const {
  return impl_->outstanding.load(std::memory_order_relaxed);
}

void CurlMultiClient::shutdown() {
  impl_->shutdown();
}

}  // namespace oemlink::net
