// The configuration reference printed from the settings tables: what `oemlink config schema`
// prints and what config/README.md holds between its "config schema" markers.
#pragma once

#include <ostream>

namespace oemlink::config {

// Markdown: one section per block (top level, logging, ..., each sink type), each a table of
// key, type, default and meaning.
void write_schema_reference(std::ostream& out);

}  // namespace oemlink::config
