// A driver descriptor whose calls are recorded and answered by the test: polls wait until the
// test completes them, so the host's side of every timing rule can be driven step by step.
#pragma once

#include <oemlink/driver.h>

#include <string>
#include <vector>

namespace oemlink::host::testing {

struct PendingPoll {
  oemlink_conn* conn;
  oemlink_poll_done_fn done;
  void* done_ctx;
};

struct PendingStream {
  oemlink_conn* conn;
  oemlink_stream_ended_fn ended;
  void* ctx;
};

struct ScriptedDriver {
  oemlink_status poll_answer = OEMLINK_OK;  // what poll() returns
  oemlink_status open_answer = OEMLINK_OK;
  std::vector<PendingPoll> polls;  // started, not yet completed by the test
  std::vector<PendingStream> streams;
  int polls_started = 0;
  int streams_stopped = 0;
  int closes = 0;
  int destroys = 0;

  // Completes the oldest pending poll.
  void complete_next(oemlink_status status, const std::string& message = "") {
    PendingPoll p = polls.front();
    polls.erase(polls.begin());
    p.done(p.done_ctx, status, {message.data(), message.size()});
  }
};

// The descriptor; its instance is the ScriptedDriver itself. capabilities: poll and stream.
const oemlink_driver* scripted_descriptor();
inline oemlink_instance* instance_of(ScriptedDriver& d) {
  return reinterpret_cast<oemlink_instance*>(&d);
}

}  // namespace oemlink::host::testing
