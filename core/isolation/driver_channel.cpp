#include "core/isolation/driver_channel.hpp"

#include "core/isolation/message_kind.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace oemlink::isolation {
namespace {

// A peer that stops reading for this long while we have this much queued is not coming back:
// the hung-poll watchdog normally ends it first.
constexpr size_t kMaxQueuedBytes = 256u << 20;

}  // namespace

DriverChannel::DriverChannel(int fd, Clock clock) : fd_(fd), clock_(std::move(clock)) {}

DriverChannel::~DriverChannel() {
  close();
  if (reader_.joinable()) reader_.detach();
  if (writer_.joinable()) writer_.detach();
  ::close(fd_);
}

void DriverChannel::start(FrameHandler on_frame, ClosedHandler on_closed) {
  on_frame_ = std::move(on_frame);
  on_closed_ = std::move(on_closed);
  reader_ = std::thread([this] { read_loop(); });
  writer_ = std::thread([this] { write_loop(); });
}

size_t DriverChannel::queued_bytes() const {
  std::lock_guard lk(out_mu_);
  return out_.size() - out_sent_;
}

bool DriverChannel::flush_locked() {
  while (out_sent_ < out_.size()) {
    ssize_t n =
        ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  out_.clear();
  out_sent_ = 0;
  return true;
}

bool DriverChannel::send(FrameWriter& frame) {
  const std::vector<char>& bytes = frame.finish(clock_ ? clock_() : 0);
  bool broken = false;
  {
    std::lock_guard lk(out_mu_);
    if (closed_.load()) return false;
    if (out_.size() - out_sent_ + bytes.size() > kMaxQueuedBytes) {
      broken = true;
    } else {
      bool was_empty = out_sent_ == out_.size();
      out_.insert(out_.end(), bytes.begin(), bytes.end());
      // The common case writes at once on this thread; only a full socket wakes the writer.
      if (was_empty && !flush_locked()) broken = true;
      if (!broken && out_sent_ < out_.size()) out_cv_.notify_one();
    }
  }
  if (broken) {
    fail("the driver process's channel is broken or not being read");
    return false;
  }
  return true;
}

void DriverChannel::write_loop() {
  std::unique_lock lk(out_mu_);
  while (!closed_.load()) {
    if (out_sent_ == out_.size()) {
      out_cv_.wait(lk);
      continue;
    }
    lk.unlock();
    pollfd p{fd_, POLLOUT, 0};
    int r = ::poll(&p, 1, 1000);
    lk.lock();
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) break;
    if (!flush_locked()) break;
  }
  bool was_closed = closed_.load();
  lk.unlock();
  if (!was_closed) fail("writing to the driver process's channel failed");
  writer_done_.store(true);
}

std::optional<ReplyFrame> DriverChannel::call(FrameWriter& frame,
                                              std::chrono::milliseconds timeout) {
  Waiter w;
  uint64_t id = 0;
  std::memcpy(&id, frame.finish(0).data() + offsetof(FrameHeader, call_id), sizeof id);
  {
    std::lock_guard lk(wait_mu_);
    if (closed_.load()) return std::nullopt;
    waiters_[id] = &w;
  }
  if (!send(frame)) {
    std::lock_guard lk(wait_mu_);
    waiters_.erase(id);
    return std::nullopt;
  }
  std::unique_lock lk(wait_mu_);
  w.cv.wait_for(lk, timeout, [&] { return w.reply.has_value() || w.gone; });
  waiters_.erase(id);
  return std::move(w.reply);
}

void DriverChannel::read_loop() {
  std::vector<char> buf(64 * 1024);
  size_t have = 0;
  std::string why = "the driver process closed its channel";
  for (;;) {
    ssize_t n = ::read(fd_, buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0)
        why = std::string("reading the driver process's channel failed: ") + std::strerror(errno);
      break;
    }
    have += static_cast<size_t>(n);
    size_t at = 0;
    try {
      while (have - at >= sizeof(FrameHeader)) {
        FrameHeader h;
        std::memcpy(&h, buf.data() + at, sizeof h);
        if (h.payload_size > kMaxFramePayload)
          throw FrameError("a frame announces " + std::to_string(h.payload_size) + " bytes");
        size_t whole = sizeof h + h.payload_size;
        if (have - at < whole) {
          if (buf.size() < whole) buf.resize(whole);
          break;
        }
        if (h.sender_unix_ms != 0 && clock_)
          peer_offset_.store(h.sender_unix_ms - clock_(), std::memory_order_relaxed);
        std::string_view payload(buf.data() + at + sizeof h, h.payload_size);
        at += whole;
        if (h.kind == kReply) {
          std::lock_guard lk(wait_mu_);
          auto it = waiters_.find(h.call_id);
          if (it != waiters_.end()) {  // else its caller gave up waiting
            it->second->reply = ReplyFrame{h, std::string(payload)};
            it->second->cv.notify_one();
          }
          continue;
        }
        FrameReader r(h, payload);
        on_frame_(r);
      }
    } catch (const std::exception& e) {
      why = std::string("the driver process's channel carried a malformed frame: ") + e.what();
      break;
    }
    std::memmove(buf.data(), buf.data() + at, have - at);
    have -= at;
    if (have == 0 && buf.size() > 1024 * 1024) buf.resize(64 * 1024);
  }
  fail(why);
  reader_done_.store(true);
}

void DriverChannel::fail(const std::string& why) {
  {
    std::lock_guard lk(out_mu_);
    closed_.store(true);
    out_cv_.notify_all();
  }
  ::shutdown(fd_, SHUT_RDWR);
  {
    std::lock_guard lk(wait_mu_);
    for (auto& [id, w] : waiters_) {
      w->gone = true;
      w->cv.notify_one();
    }
  }
  if (!closed_reported_.exchange(true) && on_closed_) on_closed_(why);
}

void DriverChannel::close() {
  fail("the channel was closed");
  auto self = std::this_thread::get_id();
  if (reader_.joinable() && reader_.get_id() != self) reader_.join();
  if (writer_.joinable() && writer_.get_id() != self) writer_.join();
}

}  // namespace oemlink::isolation
