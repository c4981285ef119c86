# oemlink_add_driver(<name> <sources>...)
# Builds an oemlink driver as a shared library named oemlink-driver-<name>.so that exports only
# its entry symbol, links the SDK headers, and lands where the host looks for bare driver names
# (OEMLINK_PLUGIN_OUTPUT_DIR when set). Works in the oemlink tree and from the installed
# oemlink-sdk package alike.
include_guard(GLOBAL)

# Captured at include time: inside the function CMAKE_CURRENT_LIST_DIR is the caller's.
set(_OEMLINK_SDK_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

function(oemlink_add_driver name)
  if(NOT name MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "oemlink_add_driver: driver name '${name}' must match [a-z0-9_-]+")
  endif()
  if(NOT ARGN)
    message(FATAL_ERROR "oemlink_add_driver(${name}): no sources given")
  endif()
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
  if(NOT APPLE AND NOT WIN32)
    # A driver must resolve every symbol at link time: a missing one would otherwise surface as
    # a load failure on the operator's machine. The version script keeps the export list to the
    # entry point even for code pulled in from static libraries with default visibility.
    set(map ${_OEMLINK_SDK_CMAKE_DIR}/oemlink-driver.map)
    target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--version-script=${map})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
  endif()
endfunction()
