/* Looks like a driver but exports no oemlink_driver_entry: the loader must say so, naming the
 * symbol it looked for. A near-miss name is exported so the library is not simply empty. */
#include "raw_descriptor.h"

static const oemlink_driver kDescriptor = RAW_DESCRIPTOR_INIT("nosymbol");

OEMLINK_EXPORT const oemlink_driver* OEMLINK_CALL oemlink_driver_entry_v0(uint32_t host_major,
                                                                          uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &kDescriptor;
}
