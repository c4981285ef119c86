// The admin API's client for `oemlink connections`: one blocking HTTP(S) request at a time
// (libcurl easy) to the running daemon's listeners.admin, with its bearer token or a client
// certificate. The token is never printed; the copies curl holds are wiped after each request.
#pragma once

#include "core/config/config.hpp"

#include <stdexcept>
#include <string>

namespace oemlink::cli {

struct AdminEndpoint {
  std::string url;                  // "https://127.0.0.1:9444", no trailing '/'
  std::string where;                // "127.0.0.1:9444", for messages
  std::string token;                // wiped by the client
  std::string ca_file;              // trust for the server's certificate; empty: the system store
  bool pin_ca_file = false;         // ca_file may be the server's own (non-CA) certificate
  std::string cert_file, key_file;  // a client certificate (with tls.client_ca_file)
};

// listeners.admin of `cfg`, with these overrides (empty: from the config). A wildcard bind
// address is reached over loopback. Throws std::runtime_error when the config has no
// listeners.admin.
AdminEndpoint admin_endpoint(const config::Config& cfg, const std::string& ca_file,
                             const std::string& cert_file, const std::string& key_file);

struct AdminAnswer {
  long status = 0;
  std::string body;
};

class AdminClient {
 public:
  explicit AdminClient(AdminEndpoint endpoint);
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // `path` with its query, starting with '/'. Throws std::runtime_error when no answer came:
  // "daemon not reachable at <addr>:<port>" when nothing listens there.
  AdminAnswer get(const std::string& path);
  AdminAnswer post(const std::string& path, const std::string& json);

 private:
  AdminAnswer request(const char* method, const std::string& path, const std::string* body);
  AdminEndpoint endpoint_;
};

}  // namespace oemlink::cli
