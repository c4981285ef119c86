#include "tests/sdk/driver_harness.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>

namespace oemlink::test {

void* load_library(const std::string& path, std::string* error) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib && error) *error = dlerror();
  return lib;
}

const oemlink_driver* entry_descriptor(void* library) {
  auto entry =
      reinterpret_cast<oemlink_driver_entry_fn>(dlsym(library, OEMLINK_DRIVER_ENTRY_SYMBOL));
  return entry ? entry(OEMLINK_ABI_MAJOR, OEMLINK_ABI_MINOR) : nullptr;
}

std::string plugin_path(std::string_view driver_name) {
  return std::string(OEMLINK_PLUGIN_DIR) + "/oemlink-driver-" + std::string(driver_name) + ".so";
}

void OEMLINK_CALL Completion::record(void* self, oemlink_status status, oemlink_str message) {
  auto* c = static_cast<Completion*>(self);
  ++c->calls;
  c->status = status;
  c->message.assign(message.data ? message.data : "", message.size);
}

DriverUnderTest::DriverUnderTest(const oemlink_driver* driver, std::string settings_json)
    : driver_(driver) {
  char err[256] = "";
  oemlink_instance* inst = nullptr;
  oemlink_status st = driver_->create(host.table(), {settings_json.data(), settings_json.size()},
                                      &inst, err, sizeof err);
  if (st == OEMLINK_OK) {
    instance_ = inst;
  } else {
    create_error_ = err;
  }
}

DriverUnderTest::~DriverUnderTest() {
  if (!instance_) return;
  for (OpenConn& c : conns_) {
    if (c.open) driver_->close(instance_, c.handle, c.ctx);
  }
  driver_->destroy(instance_);
}

oemlink_conn* DriverUnderTest::open(std::string_view id) {
  // The driver never dereferences a connection handle, so any unique non-null value will do.
  auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + conns_.size()));
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = {id.data(), id.size()};
  info.identifiers_json = {"{}", 2};
  void* ctx = nullptr;
  char err[256] = "";
  if (driver_->open(instance_, handle, &info, &ctx, err, sizeof err) != OEMLINK_OK) {
    ADD_FAILURE() << "open failed: " << err;
    return nullptr;
  }
  conns_.push_back({handle, ctx, true});
  return handle;
}

DriverUnderTest::OpenConn& DriverUnderTest::find(oemlink_conn* conn) {
  for (OpenConn& c : conns_) {
    if (c.handle == conn && c.open) return c;
  }
  throw std::logic_error("no such open connection");
}

void DriverUnderTest::close(oemlink_conn* conn) {
  OpenConn& c = find(conn);
  driver_->close(instance_, c.handle, c.ctx);
  c.open = false;
}

Completion& DriverUnderTest::poll(oemlink_conn* conn) {
  Completion& done = completions_.emplace_back();
  OpenConn& c = find(conn);
  EXPECT_EQ(driver_->poll(instance_, c.handle, c.ctx, &Completion::record, &done), OEMLINK_OK);
  return done;
}

Completion& DriverUnderTest::stream_start(oemlink_conn* conn) {
  Completion& ended = completions_.emplace_back();
  OpenConn& c = find(conn);
  EXPECT_EQ(driver_->stream_start(instance_, c.handle, c.ctx, &Completion::record, &ended),
            OEMLINK_OK);
  return ended;
}

void DriverUnderTest::stream_stop(oemlink_conn* conn) {
  OpenConn& c = find(conn);
  driver_->stream_stop(instance_, c.handle, c.ctx);
}

}  // namespace oemlink::test
