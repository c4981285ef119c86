#include "core/vault/keyd_client_vault.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/vault/in_process_vault.hpp"
#include "core/vault/keyd_protocol.hpp"

namespace oemlink::vault {
namespace {

// A transport failure: the connection is unusable, the request may be retried on a new one.
struct BrokenConnection {
  std::string what;
};

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace

struct KeydClientVault::Pool {
  KeydClientOptions options;
  std::mutex mu;
  std::vector<int> idle;

  std::string name() const { return "keyd at " + options.socket.string(); }

  ~Pool() {
    for (int fd : idle) close_fd(fd);
  }

  int connect_new() {
    sockaddr_un addr{};
    if (options.socket.native().size() >= sizeof addr.sun_path) {
      throw VaultError(name() + ": socket path too long");
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw VaultError(name() + ": socket: " + std::strerror(errno));
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(options.timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(options.timeout.count() % 1000 * 1000);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, options.socket.c_str(), options.socket.native().size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int e = errno;
      ::close(fd);
      throw VaultError(name() + ": cannot connect: " + std::strerror(e) +
                       (e == ENOENT || e == ECONNREFUSED ? " (is oemlink-keyd running?)" : ""));
    }
    check_server_uid(fd);
    return fd;
  }

  // Before anything is sent: whoever listens on the path must be keyd's uid, or a process that
  // took the socket's place would receive every hash and claim.
  void check_server_uid(int fd) {
    const uid_t expected = options.server_uid.value_or(::getuid());
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      const int e = errno;
      ::close(fd);
      throw VaultError(name() + ": cannot read the server's credentials: " + std::strerror(e));
    }
    if (cred.uid != expected) {
      ::close(fd);
      throw VaultError(
          name() + ": the server runs as uid " + std::to_string(cred.uid) + " (pid " +
          std::to_string(cred.pid) + "), expected uid " + std::to_string(expected) +
          (options.server_uid ? " (vault.keyd_uid)" : " (this process's; set vault.keyd_uid)") +
          "; nothing was sent");
    }
  }

  // Returns an idle connection (reused = true) or a new one.
  int acquire(bool& reused) {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        const int fd = idle.back();
        idle.pop_back();
        reused = true;
        return fd;
      }
    }
    reused = false;
    return connect_new();
  }

  void release(int fd) {
    std::lock_guard lock(mu);
    if (idle.size() < options.max_idle_connections) {
      idle.push_back(fd);
    } else {
      close_fd(fd);
    }
  }

  void send_all(int fd, const std::vector<uint8_t>& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw BrokenConnection{errno == EAGAIN ? "send timed out" : std::strerror(errno)};
      off += static_cast<size_t>(n);
    }
  }

  void recv_all(int fd, uint8_t* p, size_t len) {
    while (len > 0) {
      const ssize_t n = ::recv(fd, p, len, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) throw BrokenConnection{"keyd closed the connection"};
      if (n < 0) {
        throw BrokenConnection{errno == EAGAIN || errno == EWOULDBLOCK
                                   ? "no answer within " + std::to_string(options.timeout.count()) +
                                         " ms"
                                   : std::string(std::strerror(errno))};
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
  }

  // One request/response on `fd`; returns the response body.
  std::vector<uint8_t> exchange(int fd, const std::vector<uint8_t>& request, uint32_t max_body) {
    send_all(fd, request);
    uint8_t header[keyd::kFrameHeaderSize];
    recv_all(fd, header, sizeof header);
    const uint32_t len = keyd::get_u32(header);
    if (len == 0 || len > max_body) {
      throw BrokenConnection{"malformed response (" + std::to_string(len) + "-byte frame)"};
    }
    std::vector<uint8_t> body(len);
    recv_all(fd, body.data(), len);
    return body;
  }

  // The ok payload, which must be `expected` bytes; a keyd-side error becomes a VaultError.
  std::vector<uint8_t> call(const keyd::Request& req, size_t expected) {
    std::vector<uint8_t> payload = call_frame(keyd::encode_request(req), keyd::kMaxResponseBody);
    if (payload.size() != expected) {
      throw VaultError(name() + ": malformed response (" + std::to_string(payload.size()) +
                       " bytes, expected " + std::to_string(expected) + ")");
    }
    return payload;
  }

  // Sends a whole request frame; returns the ok payload or throws keyd's error as a VaultError.
  std::vector<uint8_t> call_frame(const std::vector<uint8_t>& request, uint32_t max_body) {
    std::vector<uint8_t> body = call_raw(request, max_body);
    if (body[0] == static_cast<uint8_t>(keyd::Status::ok)) return {body.begin() + 1, body.end()};
    throw VaultError(name() + ": " + std::string(body.begin() + 1, body.end()));
  }

  // Sends a whole request frame; returns the response body (status byte first), ok or not.
  std::vector<uint8_t> call_raw(const std::vector<uint8_t>& request, uint32_t max_body) {
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      const int fd = acquire(reused);
      std::vector<uint8_t> body;
      try {
        body = exchange(fd, request, max_body);
      } catch (const BrokenConnection& e) {
        close_fd(fd);
        // A pooled connection may have died with a restarted keyd: one retry on a fresh one.
        // A fresh connection failing is a real problem; retrying would only double the wait.
        if (reused && attempt == 0) continue;
        throw VaultError(name() + ": " + e.what);
      }
      release(fd);
      return body;
    }
  }
};

KeydClientVault::KeydClientVault(KeydClientOptions options) : pool_(std::make_unique<Pool>()) {
  pool_->options = std::move(options);
}

KeydClientVault::~KeydClientVault() = default;

void KeydClientVault::check_reachable() {
  pool_->release(pool_->connect_new());
}

crypto::Address20 KeydClientVault::address(uint32_t child) {
  check_child_number(child);
  const auto payload = pool_->call({keyd::Op::address, child, {}, {}, {}}, 20);
  crypto::Address20 a;
  std::copy(payload.begin(), payload.end(), a.begin());
  return a;
}

std::vector<std::pair<size_t, std::string>> KeydClientVault::claim_all(ClaimList claims) {
  // Batches, each one transaction in keyd: a million claims are ~60 round trips, not a million.
  std::vector<std::pair<size_t, std::string>> refused;
  for (size_t begin = 0; begin < claims.size(); begin += keyd::kMaxClaimsPerRequest) {
    const auto batch =
        claims.subspan(begin, std::min(keyd::kMaxClaimsPerRequest, claims.size() - begin));
    const std::vector<uint8_t> payload =
        pool_->call_frame(keyd::encode_claim_request(batch), keyd::kMaxClaimResponseBody);
    auto answer = keyd::decode_claim_answer(payload);
    if (!answer) throw VaultError(pool_->name() + ": malformed claim answer");
    for (auto& [index, reason] : *answer) {
      if (index >= batch.size()) throw VaultError(pool_->name() + ": malformed claim answer");
      refused.emplace_back(begin + index, std::move(reason));
    }
  }
  return refused;
}

uint32_t KeydClientVault::claim_next(std::string_view connection_id) {
  if (connection_id.empty())
    throw VaultError("cannot claim a key child: the connection id is empty");
  if (connection_id.size() > keyd::kMaxConnectionIdBytes)
    throw VaultError("cannot claim a key child: the connection id is longer than " +
                     std::to_string(keyd::kMaxConnectionIdBytes) + " bytes");
  keyd::Request req;
  req.op = keyd::Op::claim_next;
  req.connection_id = std::string(connection_id);
  const std::vector<uint8_t> body =
      pool_->call_raw(keyd::encode_request(req), keyd::kMaxResponseBody);
  const std::string_view text(reinterpret_cast<const char*>(body.data() + 1), body.size() - 1);
  if (body[0] != static_cast<uint8_t>(keyd::Status::ok)) {
    if (text.starts_with(keyd::kUnknownOpPrefix))
      throw VaultError(pool_->name() +
                       " is older than this host and cannot allocate key children (it answered '" +
                       std::string(text) + "'); upgrade oemlink-keyd to link new cars");
    throw VaultError(pool_->name() + ": " + std::string(text));
  }
  if (body.size() != 5)
    throw VaultError(pool_->name() + ": malformed response (" + std::to_string(body.size() - 1) +
                     " bytes, expected 4)");
  const uint32_t child = keyd::get_u32(body.data() + 1);
  check_child_number(child);
  return child;
}

void KeydClientVault::retire(uint32_t child) {
  check_child_number(child);
  (void)pool_->call({keyd::Op::retire, child, {}, {}, {}}, 0);
}

crypto::Signature65 KeydClientVault::sign_hash(uint32_t child, const crypto::Hash32& hash32) {
  check_child_number(child);
  const auto payload = pool_->call({keyd::Op::sign, child, hash32, {}, {}}, 65);
  crypto::Signature65 sig;
  std::copy(payload.begin(), payload.end(), sig.begin());
  return sig;
}

}  // namespace oemlink::vault
