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
    .struct_size = sizeof(oemlink_driver),
    .abi_major = OEMLINK_ABI_MAJOR,
    .abi_minor = OEMLINK_ABI_MINOR,
    .name = "initfail",
    .version = "0.0.1",
    .description = "loader test plugin whose create fails",
    .capabilities = OEMLINK_CAP_POLL,
    .create = initfail_create,
    .destroy = raw_destroy,
    .open = raw_open,
    .close = raw_close,
    .poll = raw_poll,
    .get_extension = raw_get_extension,
};

OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry(uint32_t host_major,
                                                                       uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &kDescriptor;
}
