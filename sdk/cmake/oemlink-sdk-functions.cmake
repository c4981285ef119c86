# oemlink_add_driver(<name> <sources>...)
# Builds an oemlink driver as a shared library named oemlink-driver-<name>.so that exports only
# its entry symbol (hidden visibility), links the SDK headers, and lands where the host looks
# for bare driver names (OEMLINK_PLUGIN_OUTPUT_DIR when set).
function(oemlink_add_driver name)
  set(target oemlink-driver-${name})
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE oemlink::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME oemlink-driver-${name}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED OEMLINK_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${OEMLINK_PLUGIN_OUTPUT_DIR})
  endif()
  # A driver must resolve every symbol at link time: a missing one would otherwise surface as a
  # load failure on the operator's machine.
  if(NOT APPLE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
endfunction()
