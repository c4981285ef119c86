// A real mosquitto broker per test (its own port and temp dir) and a QoS 1 subscriber, so the
// deliverer is tested against the protocol as a broker speaks it, not against a mock.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace oemlink::uplink::testing {

namespace fs = std::filesystem;

inline constexpr const char* kMosquittoBinary = "/usr/sbin/mosquitto";

// An unused local TCP port: bound to 0, read back, released. The broker binds it a moment
// later; the window is small enough for a test host.
int free_port();

// True once 127.0.0.1:port accepts a TCP connection.
bool wait_for_port(int port, std::chrono::milliseconds timeout);

// A TLS listener's files (PEM). With require_client_cert the broker asks for a client
// certificate signed by `ca_file`.
struct BrokerTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool require_client_cert = false;
  int plain_port = 0;  // when set, a second listener without TLS (to publish from tests)
};

class Broker {
 public:
  // Writes the config (and, with credentials, a password file via mosquitto_passwd) into a
  // fresh temp dir; does not start the broker.
  explicit Broker(int port, std::string user = {}, std::string password = {}, BrokerTls tls = {});
  ~Broker();  // kills the broker if running, removes the temp dir

  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  bool start();   // spawns mosquitto and waits until it accepts connections
  void kill();    // SIGKILL: the connection drops without a goodbye
  void freeze();  // SIGSTOP: TCP stays up, nothing is acknowledged
  void thaw();    // SIGCONT
  int port() const { return port_; }
  std::string log() const;  // the broker's own log, for failure messages

 private:
  int port_;
  fs::path dir_;
  pid_t pid_ = -1;
  bool frozen_ = false;
};

struct Message {
  std::string topic;
  std::string payload;
};

// Publishes one message (plain TCP; anonymous unless `user` is given) and waits for the broker's
// PUBACK (QoS 1) or the send (QoS 0). False when the broker cannot be reached or does not confirm
// in 5 s.
bool publish(int port, const std::string& topic, const std::string& payload, int qos = 1,
             const std::string& user = {}, const std::string& password = {});

// Subscribes to `filter` at QoS 1 and records everything it receives.
class Subscriber {
 public:
  explicit Subscriber(int port, std::string filter = "#");
  ~Subscriber();

  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  bool ready() {
    std::lock_guard lock(mu_);
    return subscribed_;
  }
  bool wait_for(size_t count, std::chrono::milliseconds timeout);
  std::vector<Message> messages();

 private:
  static void on_connect(mosquitto* m, void* obj, int rc);
  static void on_subscribe(mosquitto*, void* obj, int, int, const int*);
  static void on_message(mosquitto*, void* obj, const mosquitto_message* msg);

  std::string filter_;
  mosquitto* mosq_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
  bool subscribed_ = false;
};

}  // namespace oemlink::uplink::testing
