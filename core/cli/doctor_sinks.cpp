// Each sink's peer, reached as the sink reaches it. dimo_https: TCP, the chain against ca_file,
// the server's and our certificates' expiry, and that the peer takes our certificate (an mTLS
// handshake and a harmless GET of the URL's path: any HTTP answer means it did). mqtt: TCP, and
// TLS when configured. file: its directory is writable.
#include "core/cli/doctor.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace oemlink::cli {
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

// Certificates closer than this to their end are a warning: time to renew.
constexpr auto kRenewWithin = hours(24 * 30);

struct Url {
  std::string host, path;
  uint16_t port = 443;
};

// https://host[:port][/path] and [v6] hosts. The config loader checked the scheme already.
std::optional<Url> parse_url(const std::string& url) {
  size_t at = url.find("://");
  if (at == std::string::npos) return std::nullopt;
  const bool https = url.compare(0, at, "https") == 0;
  std::string rest = url.substr(at + 3);
  Url u;
  u.port = https ? 443 : 80;
  size_t slash = rest.find('/');
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  if (size_t userinfo = authority.rfind('@'); userinfo != std::string::npos)
    authority = authority.substr(userinfo + 1);  // never echoed: it could hold a password
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    colon = authority.find(':', close);
  } else {
    u.host = authority.substr(0, colon);
  }
  if (colon != std::string::npos) {
    try {
      int port = std::stoi(authority.substr(colon + 1));
      if (port <= 0 || port > 65535) return std::nullopt;
      u.port = static_cast<uint16_t>(port);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

std::string days_left_text(SystemTime not_after) {
  const auto left = duration_cast<hours>(not_after - system_clock::now()).count() / 24;
  if (not_after <= system_clock::now())
    return "expired " + utc_date(not_after) + " (" + std::to_string(-left) + " days ago)";
  return "expires " + utc_date(not_after) + " (in " + std::to_string(left) + " days)";
}

CheckResult expiry_result(SystemTime not_after) {
  const auto now = system_clock::now();
  if (not_after <= now) return CheckResult::fail;
  return not_after - now < kRenewWithin ? CheckResult::warn : CheckResult::pass;
}

void check_client_certificate(const std::string& prefix, const std::string& cert,
                              DoctorReport& report) {
  try {
    const SystemTime not_after = certificate_not_after(cert);
    report.add(prefix + "client certificate", expiry_result(not_after),
               cert + " " + days_left_text(not_after));
  } catch (const std::exception& e) {
    report.add(prefix + "client certificate", CheckResult::fail, e.what());
  }
}

// The TLS rows every TLS sink has: chain and server certificate.
void add_tls_rows(const std::string& prefix, const std::string& ca_file, const TlsProbeResult& p,
                  DoctorReport& report) {
  const std::string ca = ca_file.empty() ? "the system's CA store" : ca_file;
  if (!p.handshake_error.empty()) {
    report.add(prefix + "TLS", CheckResult::fail, "handshake failed: " + p.handshake_error);
    report.add(prefix + "server certificate", CheckResult::skip, "no TLS handshake");
    return;
  }
  if (p.chain_verified)
    report.add(prefix + "TLS", CheckResult::pass,
               "chain of " + p.server_subject + " verifies against " + ca);
  else
    report.add(prefix + "TLS", CheckResult::fail,
               p.server_subject + " does not verify against " + ca + ": " + p.verify_error);
  if (p.server_not_after)
    report.add(prefix + "server certificate", expiry_result(*p.server_not_after),
               days_left_text(*p.server_not_after));
  else
    report.add(prefix + "server certificate", CheckResult::fail, "the server sent none");
}

void check_https(const config::SinkConfig& s, DoctorContext& ctx, DoctorReport& report) {
  const std::string prefix = "sink " + s.name + ": ";
  const config::HttpsSinkConfig& h = s.https;
  const std::optional<Url> url = parse_url(h.url);
  if (!url) {
    report.add(prefix + "reachable", CheckResult::fail, "cannot parse the URL " + h.url);
    return;
  }
  TlsProbeRequest request{.host = url->host,
                          .port = url->port,
                          .ca_file = h.ca_file,
                          .client_cert = h.client_cert,
                          .client_key = h.client_key,
                          .http_path = url->path,
                          .timeout = h.timeout};
  const TlsProbeResult p = probe_tls(request);
  ctx.https_probes[s.name] = p;
  if (!p.connect_error.empty()) {
    report.add(prefix + "reachable", CheckResult::fail, p.connect_error);
    check_client_certificate(prefix, h.client_cert, report);
    return;
  }
  report.add(prefix + "reachable", CheckResult::pass, "connected to " + p.connected_to);
  add_tls_rows(prefix, h.ca_file, p, report);
  check_client_certificate(prefix, h.client_cert, report);
  const std::string accepted = prefix + "client certificate accepted";
  if (!p.identity_error.empty())
    report.add(accepted, CheckResult::fail, p.identity_error);
  else if (p.answered)
    report.add(accepted, CheckResult::pass,
               "mutual TLS handshake done; GET " + url->path + " answered HTTP " +
                   std::to_string(p.http_status));
  else if (p.peer_alerted || p.request_refused)
    report.add(accepted, CheckResult::fail,
               "the peer refused it: " +
                   (p.handshake_error.empty() ? p.request_error : p.handshake_error));
  else
    report.add(accepted, CheckResult::fail,
               "no answer to GET " + url->path + ": " +
                   (p.handshake_error.empty() ? p.request_error : p.handshake_error));
}

void check_mqtt(const config::SinkConfig& s, DoctorReport& report) {
  const std::string prefix = "sink " + s.name + ": ";
  const config::MqttSinkConfig& m = s.mqtt;
  TlsProbeRequest request{.host = m.host,
                          .port = static_cast<uint16_t>(m.port),
                          .tls = m.uses_tls(),
                          .ca_file = m.ca_file,
                          .client_cert = m.client_cert,
                          .client_key = m.client_key,
                          .http_path = "",  // MQTT: no request, the handshake only
                          .timeout = milliseconds(10'000)};
  const TlsProbeResult p = probe_tls(request);
  if (!p.connect_error.empty()) {
    report.add(prefix + "reachable", CheckResult::fail, p.connect_error);
    return;
  }
  report.add(prefix + "reachable", CheckResult::pass, "connected to " + p.connected_to);
  if (!m.uses_tls()) return;
  add_tls_rows(prefix, m.ca_file, p, report);
  if (!m.client_cert.empty()) check_client_certificate(prefix, m.client_cert, report);
}

void check_file(const config::SinkConfig& s, DoctorReport& report) {
  const std::string check = "sink " + s.name + ": directory";
  fs::path dir = s.file.path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    // Created with the data dir on the first run when it lies inside it.
    report.add(check, CheckResult::pass, dir.string() + " does not exist yet (created on start)");
    return;
  }
  std::string name = (dir / ".oemlink-doctor-XXXXXX").string();
  int fd = ::mkstemp(name.data());
  if (fd < 0) {
    report.add(check, CheckResult::fail,
               dir.string() + " is not writable: " + std::strerror(errno));
    return;
  }
  ::close(fd);
  ::unlink(name.c_str());
  report.add(check, CheckResult::pass, dir.string() + " is writable");
}

}  // namespace

void doctor_sinks(DoctorContext& ctx, DoctorReport& report) {
  if (!ctx.cfg) {
    report.add("sinks", CheckResult::skip, kNoConfig);
    return;
  }
  if (ctx.cfg->sinks.empty()) report.add("sinks", CheckResult::warn, "no sink configured");
  for (const config::SinkConfig& s : ctx.cfg->sinks) {
    if (s.type == "dimo_https")
      check_https(s, ctx, report);
    else if (s.type == "mqtt")
      check_mqtt(s, report);
    else if (s.type == "file")
      check_file(s, report);
    else
      report.add("sink " + s.name, CheckResult::skip, "type " + s.type + " has no check");
  }
}

}  // namespace oemlink::cli
