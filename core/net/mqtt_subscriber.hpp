// MqttSubscriber: one MQTT subscription (libmosquitto, MQTT 3.1.1) kept alive on a network thread
// of its own. It connects in the background, reconnects with exponential back-off whatever went
// wrong (refused, DNS, TLS, a dropped link), and subscribes to every topic again after each
// connect. With `persistent_session` it connects with clean_session = false under a stable client
// id, so the broker queues QoS 1 messages while it is away and delivers them when it is back.
//
// Its own loop around mosquitto_loop() rather than mosquitto_loop_start(): libmosquitto's thread
// gives up for good on errors it deems fatal (a DNS failure, a TLS handshake error, a refused
// login), and its back-off cannot be stopped promptly; a subscription must outlive all of these.
//
// Threading: `on_message` and `on_status` run on the subscription's network thread, one at a
// time. stop() (and the destructor) may be called from any thread; when they return no callback
// is running or will run. Called from inside a callback, stop() cannot wait for the callback it
// is in: it ends the subscription without waiting (no deadlock) and nothing runs after that
// callback returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::net {

struct MqttSubscriberOptions {
  std::string host;
  uint16_t port = 1883;
  uint16_t keepalive_s = 30;
  std::string client_id;  // not empty
  bool persistent_session = false;
  std::string username;   // empty: none
  std::string password;   // never in any message
  std::string ca_file;    // TLS when not empty; the broker is verified against it
  std::string cert_file;  // client certificate (with key_file), TLS only
  std::string key_file;
  std::vector<std::string> topics;  // filters; '+' and '#' allowed
  int qos = 1;                      // 0 or 1
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
};

class MqttSubscriber {
 public:
  using OnMessage = std::function<void(std::string_view topic, std::string_view payload)>;
  // connected = true once every topic is subscribed; false with the reason when the broker is
  // lost or cannot be reached (reported when it changes, not on every attempt).
  using OnStatus = std::function<void(bool connected, const std::string& message)>;

  // Why `o` cannot work (empty host or client id, qos, no topic, a topic filter MQTT refuses, a
  // client certificate without TLS or without its key, unreadable TLS files, ...), or empty when
  // it can. The message names the field (and topic or file), never the password.
  static std::string check(const MqttSubscriberOptions& o);

  // Sets the client up and starts connecting in the background. Throws std::invalid_argument
  // with check()'s message when the options cannot work.
  MqttSubscriber(MqttSubscriberOptions options, OnMessage on_message, OnStatus on_status);
  ~MqttSubscriber();  // stop()

  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  // Ends the subscription: the thread is joined and the connection closed. No UNSUBSCRIBE is
  // sent, so a persistent session stays on the broker, which keeps queueing for it. Idempotent.
  void stop();

  bool connected() const;
  // "host:port", for messages about this broker.
  const std::string& broker() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared with its thread, which may outlive us (see stop())
};

}  // namespace oemlink::net
