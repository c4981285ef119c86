#include "core/cli/tls_probe.hpp"
#include "core/net/http_date.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <strings.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace oemlink::cli {
namespace {

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

// OpenSSL's queued errors as one line (reason strings only: they never carry key material).
std::string openssl_errors(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!reason) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out.empty() ? fallback : out;
}

bool is_alert(const std::string& errors) {
  return errors.find("alert") != std::string::npos;
}

SystemTime to_system_time(const ASN1_TIME* t) {
  std::tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string endpoint_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

// A connected, blocking socket whose reads and writes time out, or -1 with `error` set.
int connect_with_timeout(const TlsProbeRequest& r, TlsProbeResult& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(r.port);
  if (int rc = getaddrinfo(r.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    out.connect_error = "cannot resolve " + r.host + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  const int ms = static_cast<int>(r.timeout.count());
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    const std::string where = endpoint_text(a->ai_addr);
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, ms);
        socklen_t len = sizeof err;
        if (n == 0)
          err = ETIMEDOUT;
        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
          err = errno;
      }
    }
    if (err != 0) {
      out.connect_error = "cannot connect to " + where + ": " + std::strerror(err);
      ::close(fd);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    out.connect_error.clear();
    out.connected_to = where;
    return fd;
  }
  if (out.connect_error.empty()) out.connect_error = "cannot connect to " + r.host + ":" + port;
  return -1;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

CtxPtr make_context(const TlsProbeRequest& r, TlsProbeResult& out) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    out.handshake_error = openssl_errors("cannot create a TLS context");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Verified after the handshake instead of aborting it, so one connection also shows the
  // server's certificate and whether the peer takes ours when the chain is wrong.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  const bool trust =
      r.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                        : SSL_CTX_load_verify_locations(ctx.get(), r.ca_file.c_str(), nullptr) == 1;
  if (!trust) {
    out.verify_error = "cannot load CA " + (r.ca_file.empty() ? std::string("store") : r.ca_file) +
                       ": " + openssl_errors("unreadable");
  }
  if (!r.client_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), r.client_cert.c_str()) != 1)
      out.identity_error =
          "cannot load client certificate " + r.client_cert + ": " + openssl_errors("unreadable");
    else if (SSL_CTX_use_PrivateKey_file(ctx.get(), r.client_key.c_str(), SSL_FILETYPE_PEM) != 1)
      out.identity_error =
          "cannot load client key " + r.client_key + ": " + openssl_errors("unreadable");
    else if (SSL_CTX_check_private_key(ctx.get()) != 1)
      out.identity_error = "client key " + r.client_key + " does not match " + r.client_cert;
    ERR_clear_error();
  }
  return ctx;
}

void record_peer(SSL* ssl, TlsProbeResult& out) {
  X509Ptr peer(SSL_get1_peer_certificate(ssl));
  if (!peer) {
    out.verify_error = "the server sent no certificate";
    return;
  }
  out.server_not_after = to_system_time(X509_get0_notAfter(peer.get()));
  char subject[256] = "";
  X509_NAME_oneline(X509_get_subject_name(peer.get()), subject, sizeof subject);
  out.server_subject = subject;
  if (!out.verify_error.empty()) return;  // the CA did not load: nothing verified
  const long v = SSL_get_verify_result(ssl);
  out.chain_verified = v == X509_V_OK;
  if (!out.chain_verified) out.verify_error = X509_verify_cert_error_string(v);
}

void send_request(SSL* ssl, const TlsProbeRequest& r, TlsProbeResult& out) {
  const std::string request = "GET " + r.http_path + " HTTP/1.1\r\nHost: " + r.host +
                              "\r\nUser-Agent: oemlink-doctor\r\nConnection: close\r\n\r\n";
  ERR_clear_error();
  if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    out.request_error = openssl_errors("the connection closed while sending");
    out.request_refused = is_alert(out.request_error);
    // A peer that refused our certificate sent its alert, then closed: the alert may still
    // wait in the receive buffer, and it is the better answer.
    ERR_clear_error();
    char ignored[256];
    if (SSL_read(ssl, ignored, sizeof ignored) <= 0) {
      std::string alert = openssl_errors("");
      if (is_alert(alert)) {
        out.request_error = alert;
        out.request_refused = true;
      }
    }
    return;
  }
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 64 * 1024) {
    ERR_clear_error();
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) break;
      out.request_error =
          openssl_errors(errno == EAGAIN || errno == EWOULDBLOCK
                             ? "no answer within " + std::to_string(r.timeout.count()) + " ms"
                             : "the peer closed the connection without an answer");
      out.request_refused = is_alert(out.request_error);
      break;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  if (std::sscanf(head.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    if (out.request_error.empty()) out.request_error = "the answer is not HTTP";
    return;
  }
  out.answered = true;
  out.request_error.clear();
  out.http_status = status;
  for (size_t at = head.find("\r\n"); at != std::string::npos;) {
    size_t end = head.find("\r\n", at + 2);
    if (end == std::string::npos) break;
    std::string line = head.substr(at + 2, end - at - 2);
    if (line.size() > 5 && strncasecmp(line.c_str(), "date:", 5) == 0) {
      size_t v = line.find_first_not_of(' ', 5);
      if (v != std::string::npos) out.date = net::parse_http_date(line.substr(v));
    }
    at = end;
  }
}

}  // namespace

TlsProbeResult probe_tls(const TlsProbeRequest& r) {
  TlsProbeResult out;
  FdCloser fd{connect_with_timeout(r, out)};
  if (fd.fd < 0 || !r.tls) return out;
  CtxPtr ctx = make_context(r, out);
  if (!ctx) return out;
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd.fd);
  if (!is_ip_literal(r.host)) SSL_set_tlsext_host_name(ssl.get(), r.host.c_str());
  SSL_set1_host(ssl.get(), r.host.c_str());
  ERR_clear_error();
  if (SSL_connect(ssl.get()) != 1) {
    out.handshake_error = openssl_errors(
        errno == EAGAIN ? "no answer within " + std::to_string(r.timeout.count()) + " ms"
                        : "the peer closed the connection during the handshake");
    out.peer_alerted = is_alert(out.handshake_error);
    return out;
  }
  record_peer(ssl.get(), out);
  if (!r.http_path.empty()) send_request(ssl.get(), r, out);
  SSL_shutdown(ssl.get());
  return out;
}

SystemTime certificate_not_after(const std::string& pem_file) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(pem_file.c_str(), "r"), std::fclose);
  if (!f) throw std::runtime_error("cannot open " + pem_file + ": " + std::strerror(errno));
  X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) throw std::runtime_error(pem_file + " holds no PEM certificate");
  return to_system_time(X509_get0_notAfter(cert.get()));
}

}  // namespace oemlink::cli
