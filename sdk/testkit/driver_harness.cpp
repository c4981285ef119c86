#include <oemlink/testkit/driver_harness.hpp>

#include <dlfcn.h>

#include <stdexcept>

namespace oemlink::testkit {

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

const oemlink_driver* load_driver(const std::string& path, std::string* error) {
  void* lib = load_library(path, error);
  if (!lib) return nullptr;
  const oemlink_driver* d = entry_descriptor(lib);
  if (!d && error) {
    *error = path + ": no " + OEMLINK_DRIVER_ENTRY_SYMBOL + " or it returned NULL";
  }
  return d;
}

void OEMLINK_CALL Completion::record(void* self, oemlink_status status, oemlink_str message) {
  auto* c = static_cast<Completion*>(self);
  ++c->calls;
  c->status = status;
  c->message.assign(message.data ? message.data : "", message.size);
}

DriverUnderTest::DriverUnderTest(const oemlink_driver* driver, std::string settings_json)
    : driver_(driver) {
  if (!driver_) {
    create_error_ = "no driver descriptor";
    return;
  }
  char err[512] = "";
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
  ConnSpec spec;
  spec.id = std::string(id);
  return open(spec);
}

oemlink_conn* DriverUnderTest::open(const ConnSpec& spec) {
  open_error_.clear();
  if (!instance_) {
    open_error_ = "the driver instance was not created: " + create_error_;
    return nullptr;
  }
  // The driver never dereferences a connection handle, so any unique non-null value will do.
  auto* handle = reinterpret_cast<oemlink_conn*>(static_cast<uintptr_t>(0x1000 + conns_.size()));
  oemlink_conn_info info{};
  info.struct_size = sizeof info;
  info.id = {spec.id.data(), spec.id.size()};
  info.vin = {spec.vin.data(), spec.vin.size()};
  info.identifiers_json = {spec.identifiers_json.data(), spec.identifiers_json.size()};
  info.vehicle_token_id = spec.vehicle_token_id;
  info.synthetic_token_id = spec.synthetic_token_id;
  void* ctx = nullptr;
  char err[512] = "";
  if (driver_->open(instance_, handle, &info, &ctx, err, sizeof err) != OEMLINK_OK) {
    open_error_ = err;
    return nullptr;
  }
  conns_.push_back({handle, ctx, true});
  return handle;
}

DriverUnderTest::OpenConn& DriverUnderTest::find(oemlink_conn* conn) {
  for (OpenConn& c : conns_) {
    if (c.handle == conn && c.open) return c;
  }
  throw std::logic_error("DriverUnderTest: no such open connection");
}

void DriverUnderTest::close(oemlink_conn* conn) {
  OpenConn& c = find(conn);
  driver_->close(instance_, c.handle, c.ctx);
  c.open = false;
}

Completion& DriverUnderTest::poll(oemlink_conn* conn) {
  Completion& done = completions_.emplace_back();
  OpenConn& c = find(conn);
  if (!driver_->poll) throw std::logic_error("DriverUnderTest: the driver has no poll()");
  done.started = driver_->poll(instance_, c.handle, c.ctx, &Completion::record, &done);
  return done;
}

Completion& DriverUnderTest::stream_start(oemlink_conn* conn) {
  Completion& ended = completions_.emplace_back();
  OpenConn& c = find(conn);
  if (!driver_->stream_start) {
    throw std::logic_error("DriverUnderTest: the driver has no stream_start()");
  }
  ended.started = driver_->stream_start(instance_, c.handle, c.ctx, &Completion::record, &ended);
  return ended;
}

void DriverUnderTest::stream_stop(oemlink_conn* conn) {
  OpenConn& c = find(conn);
  driver_->stream_stop(instance_, c.handle, c.ctx);
}

}  // namespace oemlink::testkit
