// Coverage-guided fuzzing of the Smartcar driver's parsers with libFuzzer (clang only). The first
// byte picks the target: a signals page, an error body, a v2 response list, or a webhook delivery
// (signed with the instance's amt so the parser behind the signature check is reached). By hand,
// from the repository root:
//   P=plugins/smartcar; clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I$P \
//     -Isdk/include -Isdk/testkit/include $(ls $P/*.cpp | grep -v smartcar_driver) \
//     sdk/testkit/fake_host.cpp tests/plugins/smartcar/smartcar_libfuzzer.cpp -lboost_json \
//     -lcrypto -o /tmp/smartcar_fuzzer && /tmp/smartcar_fuzzer -max_total_time=90 -max_len=4096
#include "error_classifier.hpp"
#include "instance_context.hpp"
#include "signal_mapper.hpp"
#include "signals_client.hpp"
#include "v2_responses.hpp"
#include "webhook_handler.hpp"
#include "webhook_verifier.hpp"

#include <oemlink/testkit/fake_host.hpp>

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sc = oemlink::smartcar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int target = data[0] % 4;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<oemlink_reading> out;
  sc::MapStats stats;
  switch (target) {
    case 0: {
      std::string error;
      if (auto page = sc::parse_signals_page(body, error))
        for (const auto& item : *page->data) sc::map_signal(item, 1'800'000'000'000, out, stats);
      break;
    }
    case 1:
      (void)sc::classify_error(429, body, "30", 0);
      break;
    case 2: {
      boost::system::error_code ec;
      auto v = boost::json::parse(body, ec);
      if (!ec && v.is_array())
        sc::map_v2_responses(v.as_array(), sc::UnitSystem::metric, 1, out, stats);
      break;
    }
    default: {
      static oemlink::testkit::FakeHost host;
      static auto ctx = [] {
        sc::SmartcarSettings s;
        s.client_id = "cid";
        s.client_secret = "secret";
        s.amt = "amt";
        auto c = std::make_shared<sc::InstanceContext>(oemlink::Host(host.table()), s);
        static int fake_conn;
        c->registry.add("36ab27d0-fd9d-4455-823a-ce30af709ffc",
                        reinterpret_cast<oemlink_conn*>(&fake_conn));
        return c;
      }();
      host.emits.clear();
      host.logs.clear();
      sc::WebhookHandler handler(ctx);
      oemlink::HttpRequest req;
      req.method = "POST";
      req.body = body;
      req.headers = {{"SC-Signature", sc::hmac_sha256_hex("amt", body)}};
      int answers = 0;
      handler.handle(req, [&](int, std::string_view) { ++answers; });
      if (answers != 1) __builtin_trap();
      break;
    }
  }
  return 0;
}
