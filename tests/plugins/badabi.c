/* A driver from the future: its ABI major is one past the host's. The loader must refuse it
 * and name both versions. */
#include "raw_descriptor.h"

static const oemlink_driver kDescriptor = {
    .struct_size = sizeof(oemlink_driver),
    .abi_major = OEMLINK_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "badabi",
    .version = "9.0.0",
    .description = "loader test plugin with a newer ABI major",
    .capabilities = OEMLINK_CAP_POLL,
    .create = raw_create,
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
