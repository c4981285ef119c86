# cmake -P script: install this build's SDK into a scratch prefix and build the hello-driver
# example against it with find_package, as a third party would; the result must be a driver
# that exports oemlink_driver_entry and nothing else.
foreach(var OEMLINK_BINARY_DIR EXAMPLE_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "hello_driver_out_of_tree.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

# Only the SDK component: the rest of this build may not be built, and need not be.
run(${CMAKE_COMMAND} --install ${OEMLINK_BINARY_DIR} --component oemlink-sdk --prefix ${prefix})
foreach(f include/oemlink/driver.h include/oemlink/driver.hpp
          lib/cmake/oemlink-sdk/oemlink-sdkConfig.cmake
          lib/cmake/oemlink-sdk/oemlink-sdkConfigVersion.cmake
          lib/cmake/oemlink-sdk/oemlink-sdk-functions.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the installed SDK lacks ${f}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${EXAMPLE_SOURCE_DIR} -B ${build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${build})

set(driver ${build}/oemlink-driver-hello.so)
if(NOT EXISTS ${driver})
  message(FATAL_ERROR "the example did not produce ${driver}")
endif()
run(nm -D --defined-only ${driver})
string(REGEX MATCHALL "[^\n]+" lines "${run_output}")
set(exported "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] " "" symbol "${line}")
  list(APPEND exported ${symbol})
endforeach()
if(NOT exported STREQUAL "oemlink_driver_entry")
  message(FATAL_ERROR "the driver must export only oemlink_driver_entry, but exports: ${exported}")
endif()
message(STATUS "out-of-tree hello driver OK: ${driver}")
