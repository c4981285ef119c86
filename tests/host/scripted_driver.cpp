#include "tests/host/scripted_driver.hpp"

#include <cstdio>

namespace oemlink::host::testing {
namespace {

ScriptedDriver& self(oemlink_instance* i) {
  return *reinterpret_cast<ScriptedDriver*>(i);
}

oemlink_status OEMLINK_CALL create(const oemlink_host*, oemlink_str, oemlink_instance**, char*,
                                   size_t) {
  return OEMLINK_ERROR;  // instances are made by the test and adopted
}
void OEMLINK_CALL destroy(oemlink_instance* i) {
  self(i).destroys++;
}
oemlink_status OEMLINK_CALL open(oemlink_instance* i, oemlink_conn*, const oemlink_conn_info*,
                                 void** ctx, char* err, size_t cap) {
  *ctx = nullptr;
  if (self(i).open_answer != OEMLINK_OK && cap > 0) {
    std::snprintf(err, cap, "scripted open failure");
  }
  return self(i).open_answer;
}
void OEMLINK_CALL close(oemlink_instance* i, oemlink_conn*, void*) {
  self(i).closes++;
}
oemlink_status OEMLINK_CALL poll(oemlink_instance* i, oemlink_conn* conn, void*,
                                 oemlink_poll_done_fn done, void* ctx) {
  ScriptedDriver& d = self(i);
  d.polls_started++;
  if (d.poll_answer != OEMLINK_OK) return d.poll_answer;
  d.polls.push_back({conn, done, ctx});
  return OEMLINK_OK;
}
oemlink_status OEMLINK_CALL stream_start(oemlink_instance* i, oemlink_conn* conn, void*,
                                         oemlink_stream_ended_fn ended, void* ctx) {
  self(i).streams.push_back({conn, ended, ctx});
  return OEMLINK_OK;
}
void OEMLINK_CALL stream_stop(oemlink_instance* i, oemlink_conn*, void*) {
  self(i).streams_stopped++;
}

}  // namespace

const oemlink_driver* scripted_descriptor() {
  static const oemlink_driver d = [] {
    oemlink_driver x{};
    x.struct_size = sizeof x;
    x.abi_major = OEMLINK_ABI_MAJOR;
    x.abi_minor = OEMLINK_ABI_MINOR;
    x.name = "scripted";
    x.version = "0.0.1";
    x.description = "test driver answered by the test";
    x.capabilities = OEMLINK_CAP_POLL | OEMLINK_CAP_STREAM;
    x.create = &create;
    x.destroy = &destroy;
    x.open = &open;
    x.close = &close;
    x.poll = &poll;
    x.stream_start = &stream_start;
    x.stream_stop = &stream_stop;
    return x;
  }();
  return &d;
}

}  // namespace oemlink::host::testing
