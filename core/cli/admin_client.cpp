#include "core/cli/admin_client.hpp"

#include "core/common/secure_wipe.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <memory>

namespace oemlink::cli {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The daemon's own certificate file as the trust anchor: its certificate need not be a CA's.
CURLcode trust_partial_chain(CURL*, void* ssl_ctx, void*) {
  X509_STORE_set_flags(SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx)),
                       X509_V_FLAG_PARTIAL_CHAIN);
  return CURLE_OK;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() {
    for (curl_slist* h = list; h; h = h->next) secure_wipe(h->data, std::strlen(h->data));
    curl_slist_free_all(list);
  }
  void add(const std::string& line) {
    if (curl_slist* l = curl_slist_append(list, line.c_str())) list = l;
  }
};

}  // namespace

AdminEndpoint admin_endpoint(const config::Config& cfg, const std::string& ca_file,
                             const std::string& cert_file, const std::string& key_file) {
  if (!cfg.listeners.admin)
    throw std::runtime_error("no listeners.admin in " + cfg.source.string() +
                             ": the daemon serves no admin API");
  const config::AdminListenerConfig& a = *cfg.listeners.admin;
  std::string host = a.address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  AdminEndpoint e;
  e.where = host + ":" + std::to_string(a.port);
  e.url = std::string(a.tls() ? "https://" : "http://") + e.where;
  e.token = a.token;
  e.ca_file = ca_file.empty() ? a.tls_cert_file : ca_file;
  e.pin_ca_file = ca_file.empty() && a.tls();
  e.cert_file = cert_file;
  e.key_file = key_file;
  return e;
}

AdminClient::AdminClient(AdminEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

AdminClient::~AdminClient() {
  secure_wipe(endpoint_.token);
}

AdminAnswer AdminClient::get(const std::string& path) {
  return request("GET", path, nullptr);
}

AdminAnswer AdminClient::post(const std::string& path, const std::string& json) {
  return request("POST", path, &json);
}

AdminAnswer AdminClient::request(const char* method, const std::string& path,
                                 const std::string* body) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw std::runtime_error("cannot start libcurl");
  CURL* c = curl.get();
  AdminAnswer answer;
  char error[CURL_ERROR_SIZE] = "";
  HeaderList headers;
  if (!endpoint_.token.empty()) {
    std::string line = "Authorization: Bearer " + endpoint_.token;
    headers.add(line);
    secure_wipe(line);
  }
  headers.add("Accept: application/json");
  const std::string url = endpoint_.url + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    headers.add("Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  headers.add("Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5'000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120'000L);  // adding 10,000 connections takes a while
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!endpoint_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
  if (endpoint_.pin_ca_file) curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, trust_partial_chain);
  if (!endpoint_.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, endpoint_.cert_file.c_str());
    curl_easy_setopt(
        c, CURLOPT_SSLKEY,
        (endpoint_.key_file.empty() ? endpoint_.cert_file : endpoint_.key_file).c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    throw std::runtime_error("daemon not reachable at " + endpoint_.where +
                             " (is oemlink running with this listeners.admin?)");
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(rc);
    std::string hint;
    if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR)
      hint = "; a daemon that wants a client certificate needs --cert and --key";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      hint = "; give the CA of the daemon's certificate with --ca";
    throw std::runtime_error("admin API at " + endpoint_.where + ": " + why + hint);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace oemlink::cli
