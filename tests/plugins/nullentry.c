/* The entry point declines the host (returns NULL): the loader must report it, not crash. */
#include <oemlink/driver.h>

OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry(uint32_t host_major,
                                                                       uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return NULL;
}
