/* A complete, valid descriptor written against the raw C ABI (no driver.hpp), which each
 * broken test plugin bends in exactly one way. */
#ifndef OEMLINK_TEST_RAW_DESCRIPTOR_H
#define OEMLINK_TEST_RAW_DESCRIPTOR_H

#include <oemlink/driver.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct raw_instance {
  const oemlink_host* host;
} raw_instance;

static inline oemlink_status OEMLINK_CALL raw_create(const oemlink_host* host, oemlink_str settings,
                                                     oemlink_instance** out, char* err,
                                                     size_t err_cap) {
  (void)settings;
  raw_instance* inst = (raw_instance*)calloc(1, sizeof *inst);
  if (!inst) {
    if (err && err_cap) snprintf(err, err_cap, "out of memory");
    return OEMLINK_ERROR;
  }
  inst->host = host;
  *out = (oemlink_instance*)inst;
  return OEMLINK_OK;
}

static inline void OEMLINK_CALL raw_destroy(oemlink_instance* instance) {
  free(instance);
}

static inline oemlink_status OEMLINK_CALL raw_open(oemlink_instance* instance, oemlink_conn* conn,
                                                   const oemlink_conn_info* info, void** conn_ctx,
                                                   char* err, size_t err_cap) {
  (void)instance, (void)conn, (void)info, (void)err, (void)err_cap;
  *conn_ctx = NULL;
  return OEMLINK_OK;
}

static inline void OEMLINK_CALL raw_close(oemlink_instance* instance, oemlink_conn* conn,
                                          void* conn_ctx) {
  (void)instance, (void)conn, (void)conn_ctx;
}

static inline oemlink_status OEMLINK_CALL raw_poll(oemlink_instance* instance, oemlink_conn* conn,
                                                   void* conn_ctx, oemlink_poll_done_fn done,
                                                   void* done_ctx) {
  (void)instance, (void)conn, (void)conn_ctx;
  oemlink_str none = {NULL, 0};
  done(done_ctx, OEMLINK_OK, none);
  return OEMLINK_OK;
}

static inline const void* OEMLINK_CALL raw_get_extension(oemlink_instance* instance,
                                                         const char* id) {
  (void)instance, (void)id;
  return NULL;
}

#define RAW_DESCRIPTOR_INIT(NAME)                                                                \
  {                                                                                              \
    .struct_size = sizeof(oemlink_driver), .abi_major = OEMLINK_ABI_MAJOR,                       \
    .abi_minor = OEMLINK_ABI_MINOR, .name = NAME, .version = "0.0.1",                            \
    .description = "loader test plugin", .capabilities = OEMLINK_CAP_POLL, .create = raw_create, \
    .destroy = raw_destroy, .open = raw_open, .close = raw_close, .poll = raw_poll,              \
    .get_extension = raw_get_extension                                                           \
  }

#endif /* OEMLINK_TEST_RAW_DESCRIPTOR_H */
