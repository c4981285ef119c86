#include "tests/uplink/mqtt_test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

namespace oemlink::uplink::testing {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  int port = -1;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Broker::Broker(int port, std::string user, std::string password, BrokerTls tls) : port_(port) {
  std::string tmpl = (fs::path(::testing::TempDir()) / "oemlink-mqtt-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  dir_ = tmpl;
  std::ofstream conf(dir_ / "mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "persistence false\n"
       << "log_dest stderr\n"
       << "log_type error\nlog_type warning\nlog_type notice\n"
       // As root mosquitto would switch to its own user and lose access to our temp dir.
       << "user root\n";
  if (!tls.ca_file.empty()) {
    conf << "cafile " << tls.ca_file << "\ncertfile " << tls.cert_file << "\nkeyfile "
         << tls.key_file << "\n";
    if (tls.require_client_cert) conf << "require_certificate true\n";
    if (tls.plain_port) conf << "listener " << tls.plain_port << " 127.0.0.1\n";
  }
  if (user.empty()) {
    conf << "allow_anonymous true\n";
  } else {
    fs::path pw = dir_ / "passwd";
    std::string cmd = "mosquitto_passwd -c -b '" + pw.string() + "' '" + user + "' '" + password +
                      "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "mosquitto_passwd failed";
    conf << "allow_anonymous false\npassword_file " << pw.string() << "\n";
  }
}

Broker::~Broker() {
  kill();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool Broker::start() {
  if (pid_ > 0) return true;
  std::string conf = (dir_ / "mosquitto.conf").string();
  std::string log = (dir_ / "broker.log").string();
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(kMosquittoBinary, kMosquittoBinary, "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) return false;
  return wait_for_port(port_, std::chrono::seconds(5));
}

void Broker::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  frozen_ = false;
}

void Broker::freeze() {
  if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) frozen_ = true;
}

void Broker::thaw() {
  if (pid_ > 0 && frozen_ && ::kill(pid_, SIGCONT) == 0) frozen_ = false;
}

std::string Broker::log() const {
  std::ifstream in(dir_ / "broker.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool publish(int port, const std::string& topic, const std::string& payload, int qos,
             const std::string& user, const std::string& password) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  } state;
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(nullptr, true, &state);
  if (!user.empty()) mosquitto_username_pw_set(m, user.c_str(), password.c_str());
  mosquitto_publish_callback_set(m, [](mosquitto*, void* obj, int) {
    auto* s = static_cast<State*>(obj);
    std::lock_guard lock(s->mu);
    s->done = true;
    s->cv.notify_all();
  });
  bool ok = mosquitto_connect(m, "127.0.0.1", port, 30) == MOSQ_ERR_SUCCESS &&
            mosquitto_loop_start(m) == MOSQ_ERR_SUCCESS &&
            mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                              payload.data(), qos, false) == MOSQ_ERR_SUCCESS;
  if (ok) {
    std::unique_lock lock(state.mu);
    ok = state.cv.wait_for(lock, std::chrono::seconds(5), [&] { return state.done; });
  }
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  return ok;
}

Subscriber::Subscriber(int port, std::string filter) : filter_(std::move(filter)) {
  mosquitto_lib_init();
  mosq_ = mosquitto_new(nullptr, true, this);
  mosquitto_connect_callback_set(mosq_, &Subscriber::on_connect);
  mosquitto_subscribe_callback_set(mosq_, &Subscriber::on_subscribe);
  mosquitto_message_callback_set(mosq_, &Subscriber::on_message);
  if (mosquitto_connect(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
    ADD_FAILURE() << "subscriber cannot connect to port " << port;
    return;
  }
  mosquitto_loop_start(mosq_);
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(5), [this] { return subscribed_; });
}

Subscriber::~Subscriber() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

void Subscriber::on_connect(mosquitto* m, void* obj, int rc) {
  auto* self = static_cast<Subscriber*>(obj);
  if (rc == 0) mosquitto_subscribe(m, nullptr, self->filter_.c_str(), 1);
}

void Subscriber::on_subscribe(mosquitto*, void* obj, int, int, const int*) {
  auto* self = static_cast<Subscriber*>(obj);
  std::lock_guard lock(self->mu_);
  self->subscribed_ = true;
  self->cv_.notify_all();
}

void Subscriber::on_message(mosquitto*, void* obj, const mosquitto_message* msg) {
  auto* self = static_cast<Subscriber*>(obj);
  std::lock_guard lock(self->mu_);
  self->messages_.push_back(Message{msg->topic, std::string(static_cast<const char*>(msg->payload),
                                                            static_cast<size_t>(msg->payloadlen))});
  self->cv_.notify_all();
}

bool Subscriber::wait_for(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

std::vector<Message> Subscriber::messages() {
  std::lock_guard lock(mu_);
  return messages_;
}

}  // namespace oemlink::uplink::testing
