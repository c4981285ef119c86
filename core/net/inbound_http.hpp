// What the inbound HTTP server hands a route handler, and how the handler answers.
//
// A handler receives the whole request (the body already within the listener's size limit) and
// a Responder. It may answer at once or later, from any thread; the first answer wins. A
// Responder dropped without an answer sends 500, so a connection never waits for an answer
// nobody will give.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oemlink::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct InboundRequest {
  std::string method;  // "POST"
  std::string target;  // path and query as received: "/webhooks/smartcar?x=1"
  std::string path;    // target without the query
  HeaderList headers;  // as received, in order
  std::string body;    // raw
  std::string peer;    // "127.0.0.1:53124"
  // The client presented a certificate that verified against ListenerOptions::client_ca_file;
  // its subject ("/CN=ops") for the log. False and empty on a listener without client_ca_file.
  bool client_verified = false;
  std::string client_subject;

  // The first header named `name` (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
};

struct InboundResponse {
  int status = 200;
  HeaderList headers;  // Content-Length, Connection and Date are the server's
  std::string body;
};

class Responder {
 public:
  virtual ~Responder() = default;
  // [any-thread] Sends `response` on the request's connection. Only the first call counts: later
  // calls, and calls after the connection closed or timed out, are ignored and return false.
  virtual bool respond(InboundResponse response) = 0;
};
using ResponderPtr = std::shared_ptr<Responder>;

// [loop] Called on the listener's event loop for each routed request.
using RouteHandler = std::function<void(InboundRequest&& request, ResponderPtr responder)>;

}  // namespace oemlink::net
