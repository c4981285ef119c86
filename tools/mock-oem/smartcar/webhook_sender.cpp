#include "tools/mock-oem/smartcar/webhook_sender.hpp"

#include "tools/mock-oem/smartcar/signature.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>

#include <memory>
#include <thread>

namespace oemlink::mock_oem::smartcar {

namespace {

constexpr size_t kResponseCap = 4096;

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (out->size() < kResponseCap) out->append(data, std::min(n, kResponseCap - out->size()));
  return n;
}

// The challenge answer must be {"challenge": hex(HMAC-SHA256(AMT, challenge))}.
bool verify_answer_ok(const std::string& response, const std::string& amt,
                      const std::string& challenge) {
  boost::system::error_code ec;
  auto v = boost::json::parse(response, ec);
  if (ec || !v.is_object()) return false;
  auto* c = v.get_object().if_contains("challenge");
  return c && c->is_string() && c->get_string() == hmac_sha256_hex(amt, challenge);
}

}  // namespace

std::pair<std::string, std::string> sign_for_sending(const std::string& body,
                                                     const SendOptions& options) {
  const std::string key = options.tamper == Tamper::forge ? "forged-" + options.amt : options.amt;
  std::string signature = hmac_sha256_hex(key, body);
  std::string sent = body;
  if (options.tamper == Tamper::truncate && !sent.empty()) sent.pop_back();
  return {std::move(signature), std::move(sent)};
}

Attempt post_once(const std::string& url, const std::string& body, const std::string& signature,
                  std::chrono::milliseconds timeout) {
  Attempt a;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    a.error = "curl_easy_init failed";
    return a;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("SC-Signature: " + signature).c_str());
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           &curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "Smartcar-Webhooks/4.0 (oemlink-mock-oem)");
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &a.response);
  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl.get());
  a.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &a.status);
  } else {
    a.error = rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : curl_easy_strerror(rc);
  }
  return a;
}

SendOutcome send_delivery(Delivery& delivery, const SendOptions& options,
                          const std::function<void(const Attempt&, bool)>& on_attempt) {
  SendOutcome outcome;
  const auto challenge = delivery.challenge();
  auto attempt = [&](int number) {
    std::string delivery_id;
    const std::string body = delivery.body_for_attempt(delivery_id);
    auto [signature, sent] = sign_for_sending(body, options);
    Attempt a = post_once(options.url, sent, signature, options.timeout);
    a.number = number;
    a.delivery_id = delivery_id;
    return a;
  };
  const int tries = static_cast<int>(options.retry_delays.size()) + 1;
  for (int i = 0; i < tries; ++i) {
    if (i > 0) std::this_thread::sleep_for(options.retry_delays[static_cast<size_t>(i - 1)]);
    Attempt a = attempt(i + 1);
    const bool ok = a.status >= 200 && a.status < 300;
    on_attempt(a, false);
    outcome.attempts.push_back(std::move(a));
    if (ok) {
      outcome.delivered = true;
      if (challenge)
        outcome.verify_ok =
            verify_answer_ok(outcome.attempts.back().response, options.amt, *challenge);
      break;
    }
  }
  if (outcome.delivered && options.replay) {
    Attempt a = attempt(static_cast<int>(outcome.attempts.size()) + 1);
    on_attempt(a, true);
    outcome.replay = std::move(a);
  }
  return outcome;
}

}  // namespace oemlink::mock_oem::smartcar
