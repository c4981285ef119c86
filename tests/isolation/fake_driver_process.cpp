// A stand-in for oemlink-driver-process that misbehaves on purpose, for remote_instance_test:
//   fake-driver-process --name MODE --library LOG
// It speaks the channel on fd 3 by hand, appends "<pid> <kind>" to LOG for every frame it is
// sent, and answers as MODE says:
//   short-create     create is answered with an empty payload (a frame of the wrong shape)
//   short-open       create OK; open is answered with one byte
//   exit-after-open  create OK; open OK, then the socket is shut and the process exits at once
//   big-http         create OK, then one HTTP request through the host
//   linger           create OK; 50 ms later the socket is shut, the process exits 500 ms after
#include "core/isolation/message_kind.hpp"
#include "core/isolation/wire_frame.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace oemlink::isolation;

namespace {

constexpr int kFd = 3;

bool read_all(void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::read(kFd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void write_all(const std::vector<char>& b) {
  size_t at = 0;
  while (at < b.size()) {
    ssize_t r = ::write(kFd, b.data() + at, b.size() - at);
    if (r <= 0) _exit(5);
    at += static_cast<size_t>(r);
  }
}

void send(FrameWriter& w) {
  write_all(w.finish(0));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const std::string mode = argv[2];
  FILE* log = std::fopen(argv[4], "a");
  if (!log) return 2;
  for (;;) {
    FrameHeader h;
    if (!read_all(&h, sizeof h)) return 0;
    std::string payload(h.payload_size, '\0');
    if (!read_all(payload.data(), payload.size())) return 0;
    std::fprintf(log, "%d %u\n", static_cast<int>(::getpid()), static_cast<unsigned>(h.kind));
    std::fflush(log);
    FrameWriter w(kReply, h.call_id);
    switch (h.kind) {
      case kCreate: {
        if (mode != "short-create") w.i32(OEMLINK_OK).str(std::string_view()).u32(0);
        send(w);
        if (mode == "linger") {  // its channel ends, the process does not, for a while
          usleep(50'000);
          ::shutdown(kFd, SHUT_RDWR);
          usleep(500'000);
          _exit(0);
        }
        if (mode == "big-http") {  // one GET, whose answer (and its reply) are logged as they come
          FrameWriter q(kHttpRequest, uint64_t{1} << 40);
          q.u64(0).str(std::string_view("GET")).str(std::string_view("https://example.test/"));
          q.u32(0).str(std::string_view()).u32(0).u64(7);
          send(q);
        }
        break;
      }
      case kOpen:
        if (mode == "short-open") {
          w.u8(0);
          send(w);
          break;
        }
        w.i32(OEMLINK_OK).str(std::string_view());
        send(w);
        if (mode == "exit-after-open") {
          ::shutdown(kFd, SHUT_RDWR);
          _exit(0);
        }
        break;
      case kPoll:
        break;  // never finished: not what these tests look at
      default:
        send(w);  // close, destroy, stream_stop: an empty answer
        break;
    }
  }
}
