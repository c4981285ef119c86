#include "tests/ingest_sink/sink_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/http.hpp>

namespace oemlink::ingest_sink::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;

SinkClient::SinkClient(uint16_t port, const std::string& ca_file, ClientIdentity identity)
    : port_(port), ssl_(asio::ssl::context::tls_client) {
  ssl_.load_verify_file(ca_file);
  ssl_.set_verify_mode(asio::ssl::verify_peer);
  if (!identity.cert_file.empty()) {
    ssl_.use_certificate_chain_file(identity.cert_file);
    ssl_.use_private_key_file(identity.key_file, asio::ssl::context::pem);
  }
}

SinkClient::~SinkClient() = default;

bool SinkClient::connect() {
  stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, ssl_);
  buffer_.clear();
  boost::system::error_code ec;
  stream_->next_layer().connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
  if (!ec) stream_->handshake(asio::ssl::stream_base::client, ec);
  ++connects_;
  if (ec) stream_.reset();
  return !ec;
}

std::optional<HttpAnswer> SinkClient::send(bool post, const std::string& target,
                                           const std::string& body) {
  if (!stream_ && !connect()) return std::nullopt;
  http::request<http::string_body> request{post ? http::verb::post : http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/json");
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();
  boost::system::error_code ec;
  http::write(*stream_, request, ec);
  http::response<http::string_body> response;
  if (!ec) http::read(*stream_, buffer_, response, ec);
  if (ec) {
    stream_.reset();
    return std::nullopt;
  }
  if (!response.keep_alive()) stream_.reset();
  return HttpAnswer{response.result_int(), response.body()};
}

}  // namespace oemlink::ingest_sink::testing
