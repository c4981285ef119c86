// The descriptor and instance handle that front a driver run in its own process: ordinary
// `oemlink_driver` entry points whose calls go to a RemoteInstance (remote_instance.cpp).
#include "core/isolation/remote_driver.hpp"

#include "core/common/abi_text.hpp"
#include "core/isolation/remote_instance.hpp"

namespace oemlink::isolation {
namespace {

// The instance handle the host holds. The state it points to may outlive destroy(): callbacks
// the host still owes the process (a timer, an HTTP answer) hold it until they have run.
struct Handle {
  std::shared_ptr<RemoteInstance> state;
};

RemoteInstance& of(oemlink_instance* i) {
  return *reinterpret_cast<Handle*>(i)->state;
}

// --- the descriptor's entry points ---------------------------------------------------------

oemlink_status OEMLINK_CALL r_create(const oemlink_host*, oemlink_str, oemlink_instance**,
                                     char* err, size_t cap) {
  copy_abi_text(err, cap, "a driver run out of process is created with create_remote_instance");
  return OEMLINK_ERROR;
}
void OEMLINK_CALL r_destroy(oemlink_instance* i) {
  auto* h = reinterpret_cast<Handle*>(i);
  h->state->destroy();
  delete h;
}
oemlink_status OEMLINK_CALL r_open(oemlink_instance* i, oemlink_conn* c,
                                   const oemlink_conn_info* info, void** ctx, char* err,
                                   size_t cap) {
  if (ctx) *ctx = nullptr;
  return of(i).open(c, info, err, cap);
}
void OEMLINK_CALL r_close(oemlink_instance* i, oemlink_conn* c, void*) {
  of(i).close(c);
}
oemlink_status OEMLINK_CALL r_poll(oemlink_instance* i, oemlink_conn* c, void*,
                                   oemlink_poll_done_fn done, void* ctx) {
  return of(i).poll(c, done, ctx);
}
oemlink_status OEMLINK_CALL r_stream_start(oemlink_instance* i, oemlink_conn* c, void*,
                                           oemlink_stream_ended_fn ended, void* ctx) {
  return of(i).stream_start(c, ended, ctx);
}
void OEMLINK_CALL r_stream_stop(oemlink_instance* i, oemlink_conn* c, void*) {
  of(i).stream_stop(c);
}
oemlink_status OEMLINK_CALL r_webhook(oemlink_instance* i, const oemlink_http_request* q,
                                      oemlink_webhook_respond_fn respond, void* ctx) {
  return of(i).webhook(q, respond, ctx);
}
const void* OEMLINK_CALL r_get_extension(oemlink_instance* i, const char* id) {
  return of(i).get_extension(id);
}
oemlink_status OEMLINK_CALL r_authorize_url(oemlink_instance* i, const oemlink_link_authorize* q,
                                            char* buf, size_t cap, size_t* size) {
  return of(i).authorize_url(q, buf, cap, size);
}
oemlink_status OEMLINK_CALL r_exchange_code(oemlink_instance* i, const oemlink_link_callback* c,
                                            oemlink_link_exchanged_fn done, void* ctx) {
  return of(i).exchange_code(c, done, ctx);
}
oemlink_status OEMLINK_CALL r_list_vehicles(oemlink_instance* i, const oemlink_str* k,
                                            const oemlink_str* v, size_t n,
                                            oemlink_link_vehicles_fn done, void* ctx) {
  return of(i).list_vehicles(k, v, n, done, ctx);
}

std::mutex g_descriptors_mu;
std::map<const oemlink_driver*, oemlink_driver*>& descriptors() {
  static auto* m = new std::map<const oemlink_driver*, oemlink_driver*>();
  return *m;
}

}  // namespace

oemlink_link_extension remote_link_table() {
  oemlink_link_extension t{};
  t.struct_size = sizeof t;
  t.authorize_url = r_authorize_url;
  t.exchange_code = r_exchange_code;
  t.list_vehicles = r_list_vehicles;
  return t;
}

const oemlink_driver* remote_descriptor(const oemlink_driver* real) {
  std::lock_guard lk(g_descriptors_mu);
  auto& all = descriptors();
  if (auto it = all.find(real); it != all.end()) return it->second;
  auto* d = new oemlink_driver(*real);
  d->struct_size = sizeof *d;
  d->create = r_create;
  d->destroy = r_destroy;
  d->open = r_open;
  d->close = r_close;
  d->poll = real->poll ? r_poll : nullptr;
  d->stream_start = real->stream_start ? r_stream_start : nullptr;
  d->stream_stop = real->stream_stop ? r_stream_stop : nullptr;
  d->webhook = real->webhook ? r_webhook : nullptr;
  d->get_extension = r_get_extension;
  all.emplace(real, d);
  return d;
}

bool is_remote_descriptor(const oemlink_driver* d) {
  return d && d->destroy == r_destroy;
}

oemlink_status create_remote_instance(const RemoteDriverOptions& options, const oemlink_host* host,
                                      oemlink_str settings_json, oemlink_instance** out, char* err,
                                      size_t err_cap) {
  if (options.program.empty()) {
    copy_abi_text(
        err, err_cap,
        "isolation: process needs the oemlink-driver-process program, which was not found "
        "beside oemlink, in ../libexec/oemlink, or in $OEMLINK_DRIVER_PROCESS");
    return OEMLINK_ERROR;
  }
  auto state =
      std::make_shared<RemoteInstance>(options, host, std::string(abi_view(settings_json)));
  std::string why;
  if (!state->start_child(why)) {
    state->destroy();
    copy_abi_text(err, err_cap, why);
    return OEMLINK_ERROR;
  }
  *out = reinterpret_cast<oemlink_instance*>(new Handle{std::move(state)});
  return OEMLINK_OK;
}

void restart_remote_instance(oemlink_instance* instance, const std::string& why) {
  of(instance).kill_child(why);
}

long remote_instance_pid(oemlink_instance* instance) {
  return of(instance).pid();
}

}  // namespace oemlink::isolation
