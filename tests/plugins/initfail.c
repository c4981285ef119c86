/* Loads fine, then create() fails: the host must show the driver's message and name. */
#include "raw_descriptor.h"

#include <string.h>

static oemlink_status OEMLINK_CALL initfail_create(const oemlink_host* host, oemlink_str settings,
                                                   oemlink_instance** out, char* err,
                                                   size_t err_cap) {
  (void)host, (void)settings;
  *out = NULL;
  if (err && err_cap) snprintf(err, err_cap, "%s", "initfail: cannot reach token endpoint");
  return OEMLINK_ERROR;
}

static const oemlink_driver kDescriptor = {
    sizeof(oemlink_driver), OEMLINK_ABI_MAJOR, OEMLINK_ABI_MINOR, 0, "initfail", "0.0.1",
    "loader test plugin whose create fails", OEMLINK_CAP_POLL, NULL, 0, initfail_create,
    raw_destroy, raw_open, raw_close, raw_poll, NULL, NULL, NULL, raw_get_extension};

OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry(uint32_t host_major,
                                                                     uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &kDescriptor;
}
