// What DIMO's ingest node's answer to one POST means for the event (dimo-wire.md section 5):
//   2xx               delivered
//   400, 413          rejected: the event will never be accepted; dead-lettered with the text
//   408, 429, 5xx     retry, honouring Retry-After (seconds; capped at a day)
//   401, 403, 404...  retry, loudly: a configuration problem (certificate, URL), not the event's
//   TLS/network       retry; a handshake failure names the client certificate in use
// A pure function of the response, so the table is tested without a server.
#pragma once

#include "core/net/http_client.hpp"
#include "core/uplink/event_deliverer.hpp"

#include <string_view>

namespace oemlink::uplink {

// `client_cert` is the path named in a TLS failure (empty: none configured).
DeliveryResult classify_https_response(const net::HttpResponse& response,
                                       std::string_view client_cert);

}  // namespace oemlink::uplink
