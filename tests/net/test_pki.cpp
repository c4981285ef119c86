#include "tests/net/test_pki.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace oemlink::net::testing {
namespace {

void run(const std::filesystem::path& dir, const std::string& command) {
  const std::string line = "cd '" + dir.string() + "' && " + command + " >openssl.log 2>&1";
  if (std::system(line.c_str()) != 0) {
    throw std::runtime_error("test PKI: command failed (see " + (dir / "openssl.log").string() +
                             "): " + command);
  }
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

constexpr const char* kNewEcKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

TestPki::TestPki() {
  std::string pattern = (std::filesystem::temp_directory_path() / "oemlink-pki-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;

  write(dir_ / "server.ext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  write(dir_ / "client.ext",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n");

  const std::string ec = kNewEcKey;
  run(dir_, "openssl req -x509 " + ec +
                " -keyout ca.key -out ca.crt -days 2 -subj /CN=oemlink-test-ca"
                " -addext basicConstraints=critical,CA:TRUE"
                " -addext keyUsage=critical,keyCertSign,cRLSign");
  run(dir_, "openssl req -new " + ec + " -keyout server.key -out server.csr -subj /CN=localhost");
  run(dir_,
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out server.crt -days 2 -extfile server.ext");
  run(dir_, "openssl req -new " + ec +
                " -keyout client.key -out client.csr -subj /CN=oemlink-test-client");
  run(dir_,
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
      " -out client.crt -days 2 -extfile client.ext");
  run(dir_, "openssl req -x509 " + ec +
                " -keyout rogue.key -out rogue.crt -days 2 -subj /CN=oemlink-rogue-client");
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace oemlink::net::testing
