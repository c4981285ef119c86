// One accepted connection of an HttpListener: reads requests within the listener's limits,
// routes them, writes answers, keeps the connection alive between requests. Internal to
// core/net; http_listener.hpp describes the behaviour.
#pragma once

#include "core/net/listener_core.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace oemlink::net::detail {

// [loop] Starts serving `socket` (TLS when core->ssl is set).
void start_session(const std::shared_ptr<ListenerCore>& core, boost::asio::ip::tcp::socket socket);

}  // namespace oemlink::net::detail
