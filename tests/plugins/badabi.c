/* A driver from the future: its ABI major is one past the host's. The loader must refuse it
 * and name both versions. */
#include "raw_descriptor.h"

static const oemlink_driver kDescriptor = {
    sizeof(oemlink_driver), OEMLINK_ABI_MAJOR + 1, 0, 0, "badabi", "9.0.0",
    "loader test plugin with a newer ABI major", OEMLINK_CAP_POLL, NULL, 0, raw_create,
    raw_destroy, raw_open, raw_close, raw_poll, NULL, NULL, NULL, raw_get_extension};

OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry(uint32_t host_major,
                                                                     uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &kDescriptor;
}
