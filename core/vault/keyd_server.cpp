#include "core/vault/keyd_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "core/common/private_files.hpp"
#include "core/common/rate_limited_log.hpp"
#include "core/common/wall_clock.hpp"
#include "core/vault/keyd_protocol.hpp"

namespace oemlink::vault {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// Refused and broken clients: any local process can make these in a loop.
LogGate& keyd_refusal_log() {
  static LogGate gate(5);
  return gate;
}
using Local = asio::local::stream_protocol;

// A previous keyd that died leaves its socket file behind; bind() would fail on it. Only a socket
// nobody answers on is removed: never a regular file, never a live keyd's socket.
void remove_stale_socket(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) {
    throw VaultError("keyd socket " + path.string() +
                     " exists and is not a socket; refusing to "
                     "remove it");
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw VaultError("keyd socket " + path.string() + ": " + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (live) {
    throw VaultError("keyd socket " + path.string() +
                     " is in use by a running process (another "
                     "oemlink-keyd?)");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw VaultError("cannot remove stale keyd socket " + path.string() + ": " +
                     std::strerror(errno));
  }
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Local::socket socket, KeyVault& vault) : socket_(std::move(socket)), vault_(vault) {}

  void start() { read_header(); }

 private:
  void read_header() {
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (!ec) self->read_body();
                     });
  }

  void read_body() {
    const uint32_t len = keyd::get_u32(header_.data());
    if (len == 0 || len > keyd::kMaxRequestBody) {
      // Not speaking our protocol: there is no way to resynchronise, so drop the connection.
      keyd_refusal_log().log(unix_ms(), spdlog::level::warn, {},
                             "keyd: dropped a client that sent a {}-byte frame", len);
      return;
    }
    body_.resize(len);
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (!ec) self->answer();
                     });
  }

  void answer() {
    out_ = respond();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (!ec) self->read_header();
                      });
  }

  std::vector<uint8_t> respond() {
    std::string why;
    const auto req = keyd::decode_request(body_, why);
    if (!req) return keyd::encode_error(why);
    try {
      switch (req->op) {
        case keyd::Op::address: {
          const crypto::Address20 a = vault_.address(req->child);
          return keyd::encode_ok(a);
        }
        case keyd::Op::sign: {
          const crypto::Signature65 sig = vault_.sign_hash(req->child, req->hash);
          return keyd::encode_ok(sig);
        }
        case keyd::Op::claim: {
          std::vector<std::pair<uint32_t, std::string_view>> claims(req->claims.begin(),
                                                                    req->claims.end());
          return keyd::encode_claim_answer(vault_.claim_all(claims));
        }
        case keyd::Op::claim_next: {
          const uint32_t child = vault_.claim_next(req->connection_id);
          spdlog::info("keyd: key child {} claimed by connection '{}'", child, req->connection_id);
          uint8_t payload[4];
          keyd::put_u32(payload, child);
          return keyd::encode_ok(payload);
        }
        case keyd::Op::retire:
          vault_.retire(req->child);
          spdlog::info("keyd: key child {} retired", req->child);
          return keyd::encode_ok({});
      }
      return keyd::encode_error("unknown op");
    } catch (const std::exception& e) {
      // VaultError texts name child numbers and paths, never key material.
      return keyd::encode_error(e.what());
    }
  }

  Local::socket socket_;
  KeyVault& vault_;
  std::array<uint8_t, keyd::kFrameHeaderSize> header_{};
  std::vector<uint8_t> body_;
  std::vector<uint8_t> out_;
};

}  // namespace

struct KeydServer::Impl {
  Impl(KeyVault& v, KeydServerOptions o)
      : vault(v), options(std::move(o)), acceptor(io), signals(io) {}

  void bind();
  void accept();
  bool allowed(Local::socket& s);

  KeyVault& vault;
  KeydServerOptions options;
  asio::io_context io;
  Local::acceptor acceptor;
  asio::signal_set signals;
  bool bound = false;
};

void KeydServer::Impl::bind() {
  const fs::path& path = options.socket;
  if (path.empty()) throw VaultError("no keyd socket path given");
  if (path.native().size() >= sizeof(sockaddr_un{}.sun_path)) {
    throw VaultError("keyd socket path " + path.string() + " is too long for a Unix socket (" +
                     std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes at most)");
  }
  try {
    create_private_parent_dirs(path);
  } catch (const std::exception& e) {
    throw VaultError(std::string("keyd socket: ") + e.what());
  }
  remove_stale_socket(path);
  boost::system::error_code ec;
  acceptor.open(Local(), ec);
  // The umask makes the socket private from the moment it exists; chmod afterwards covers
  // filesystems that ignore the umask for sockets.
  const mode_t old_mask = ::umask(0177);
  if (!ec) acceptor.bind(Local::endpoint(path.string()), ec);
  ::umask(old_mask);
  if (ec) throw VaultError("cannot bind keyd socket " + path.string() + ": " + ec.message());
  bound = true;
  // With a host uid other than keyd's, that uid must reach the socket, and keyd (unprivileged)
  // cannot chown it over; SO_PEERCRED (allowed()) is then the gate, and the directory's
  // permissions (the operator's) decide who can see it at all.
  const mode_t mode = options.host_uid && *options.host_uid != ::getuid() ? 0666 : 0600;
  if (::chmod(path.c_str(), mode) != 0) {
    throw VaultError("cannot chmod keyd socket " + path.string() + ": " + std::strerror(errno));
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw VaultError("cannot listen on keyd socket " + path.string() + ": " + ec.message());
}

bool KeydServer::Impl::allowed(Local::socket& s) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    keyd_refusal_log().log(unix_ms(), spdlog::level::warn, {},
                           "keyd: refused a client whose credentials cannot be read: {}",
                           std::strerror(errno));
    return false;
  }
  // With --host-uid exactly that uid is the client, not keyd's own: a process that shares keyd's
  // uid has no business asking for signatures.
  const uid_t client = options.host_uid.value_or(::getuid());
  if (cred.uid == client) return true;
  if (std::find(options.allowed_uids.begin(), options.allowed_uids.end(), cred.uid) !=
      options.allowed_uids.end()) {
    return true;
  }
  keyd_refusal_log().log(unix_ms(), spdlog::level::warn, {},
                         "keyd: refused a client with uid {} (pid {}): only uid {}{} may connect",
                         cred.uid, cred.pid, client,
                         options.allowed_uids.empty() ? "" : " and --allow-uid ones");
  return false;
}

void KeydServer::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, Local::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (allowed(s)) {
        std::make_shared<Session>(std::move(s), vault)->start();
      } else {
        boost::system::error_code ignored;
        s.close(ignored);
      }
    } else {
      keyd_refusal_log().log(unix_ms(), spdlog::level::warn, {}, "keyd: accept failed: {}",
                             ec.message());
    }
    accept();
  });
}

KeydServer::KeydServer(KeyVault& vault, KeydServerOptions options)
    : impl_(std::make_unique<Impl>(vault, std::move(options))) {
  impl_->bind();
}

KeydServer::~KeydServer() {
  if (impl_->bound) (void)::unlink(impl_->options.socket.c_str());
}

void KeydServer::run() {
  Impl& m = *impl_;
  if (m.options.stop_on_signals) {
    m.signals.add(SIGTERM);
    m.signals.add(SIGINT);
    m.signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("keyd: signal {} received, shutting down", sig);
      stop();
    });
  }
  m.accept();
  unsigned n = m.options.threads;
  if (n == 0) n = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < n; ++i) workers.emplace_back([&m] { m.io.run(); });
  m.io.run();
  for (auto& t : workers) t.join();
}

void KeydServer::stop() {
  impl_->io.stop();
}

}  // namespace oemlink::vault
