// Throw-away PKI for the HTTPS tests: a CA, a server certificate for 127.0.0.1/localhost, a
// client certificate signed by the CA and a self-signed "rogue" client certificate.
#pragma once

#include <filesystem>
#include <string>

namespace oemlink::net::testing {

class TestPki {
 public:
  TestPki();  // generates everything with the openssl CLI into a fresh temp dir
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string file(const char* name) const { return (dir_ / name).string(); }
  std::string ca_cert() const { return file("ca.crt"); }
  std::string server_cert() const { return file("server.crt"); }
  std::string server_key() const { return file("server.key"); }
  std::string client_cert() const { return file("client.crt"); }
  std::string client_key() const { return file("client.key"); }
  std::string rogue_cert() const { return file("rogue.crt"); }
  std::string rogue_key() const { return file("rogue.key"); }

 private:
  std::filesystem::path dir_;
};

}  // namespace oemlink::net::testing
