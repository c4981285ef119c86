// TlsProbe: what `oemlink doctor` learns from one connection to a sink's peer, the way the sink
// would connect: TCP, then TLS verified against the sink's CA with its hostname, presenting the
// sink's client certificate, then (optionally) one harmless HTTP request whose answer shows the
// peer took the certificate (with TLS 1.3 a refusal only arrives on the first read) and carries
// the peer's `Date`. Blocking, bounded by the timeout; never keeps a connection open. [any-thread]
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace oemlink::cli {

using SystemTime = std::chrono::system_clock::time_point;

struct TlsProbeRequest {
  std::string host;
  uint16_t port = 0;
  bool tls = true;
  std::string ca_file;                  // empty: the system's trust store
  std::string client_cert, client_key;  // PEM files; empty: no client certificate
  std::string http_path;                // non-empty: send `GET <path>` and read the answer's head
  std::chrono::milliseconds timeout{10'000};
};

struct TlsProbeResult {
  std::string connect_error;  // empty: TCP connected
  std::string connected_to;   // "127.0.0.1:8443"

  std::string identity_error;   // the client certificate or key could not be loaded
  std::string handshake_error;  // empty: the handshake completed
  bool peer_alerted = false;    // the handshake ended on an alert from the peer
  bool chain_verified = false;  // the peer's chain and name verify against the CA
  std::string verify_error;     // why not, when the handshake completed
  std::string server_subject;
  std::optional<SystemTime> server_not_after;

  bool answered = false;  // the HTTP request got a status line
  int http_status = 0;
  std::optional<SystemTime> date;  // the answer's `Date` header, parsed
  std::string request_error;       // why no answer (the peer's alert when it refused us)
  bool request_refused = false;    // the read ended on an alert from the peer
};

[[nodiscard]] TlsProbeResult probe_tls(const TlsProbeRequest& request);

// The notAfter of the first certificate in a PEM file. Throws std::runtime_error naming the file.
[[nodiscard]] SystemTime certificate_not_after(const std::string& pem_file);

}  // namespace oemlink::cli
