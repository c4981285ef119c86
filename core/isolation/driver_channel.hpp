// DriverChannel: one end of the socket between the host and a driver process. It sends frames
// without ever blocking the sender (what the socket does not take at once is queued and written
// by the channel's writer thread: a child that stops reading must not stall the host's loop),
// reads frames on its own reader thread, pairs replies with the calls waiting for them, and
// hands every other frame to the owner's handler, on the reader thread, in arrival order.
//
// When the peer goes away (end of stream, a read or write error, a malformed frame, or
// close()), every waiting call returns empty and the closed handler runs once, on the reader
// thread.
//
// Threading: send() and call() from any thread. The handlers run on the reader thread and may
// send, but must not call(): the reply they would wait for is read by that same thread.
#pragma once

#include "core/isolation/wire_frame.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace oemlink::isolation {

struct ReplyFrame {
  FrameHeader header;
  std::string payload;
  FrameReader reader() const { return FrameReader(header, payload); }
};

class DriverChannel {
 public:
  using FrameHandler = std::function<void(FrameReader&)>;
  using ClosedHandler = std::function<void(const std::string& why)>;
  using Clock = std::function<int64_t()>;  // this side's Unix ms, stamped on every frame

  // Takes ownership of `fd`, a connected stream socket.
  DriverChannel(int fd, Clock clock);
  ~DriverChannel();
  DriverChannel(const DriverChannel&) = delete;
  DriverChannel& operator=(const DriverChannel&) = delete;

  // Starts the reader and writer threads.
  void start(FrameHandler on_frame, ClosedHandler on_closed);

  uint64_t new_call_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // Queues the frame; false when the channel is closed (the frame is dropped).
  bool send(FrameWriter& frame);
  // Sends a call and waits for its reply; empty when the channel closed or `timeout` passed.
  std::optional<ReplyFrame> call(FrameWriter& frame, std::chrono::milliseconds timeout);

  // Ends the channel: the socket is shut down, waiting calls return empty, and the threads are
  // joined (unless called from one of them, in which case they finish on their own).
  void close();
  bool closed() const { return closed_.load(); }
  // Both threads have returned: the channel may be destroyed from any thread.
  bool finished() const { return reader_done_.load() && writer_done_.load(); }

  // The peer's clock minus ours, as of its last frame (the host's time for a child's drivers).
  int64_t peer_clock_offset_ms() const { return peer_offset_.load(std::memory_order_relaxed); }

  // Bytes sent but not yet taken by the socket.
  size_t queued_bytes() const;

 private:
  void read_loop();
  void write_loop();
  bool flush_locked();  // writes what it can without blocking; false on a broken socket
  void fail(const std::string& why);

  int fd_;
  Clock clock_;
  FrameHandler on_frame_;
  ClosedHandler on_closed_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> closed_{false};
  std::atomic<bool> closed_reported_{false};
  std::atomic<int64_t> peer_offset_{0};
  std::atomic<bool> reader_done_{false};
  std::atomic<bool> writer_done_{false};

  mutable std::mutex out_mu_;
  std::condition_variable out_cv_;
  std::vector<char> out_;  // queued bytes not yet written
  size_t out_sent_ = 0;

  struct Waiter {
    std::condition_variable cv;
    std::optional<ReplyFrame> reply;
    bool gone = false;
  };
  std::mutex wait_mu_;
  std::unordered_map<uint64_t, Waiter*> waiters_;

  std::thread reader_;
  std::thread writer_;
};

}  // namespace oemlink::isolation
