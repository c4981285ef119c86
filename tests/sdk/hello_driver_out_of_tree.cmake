# cmake -P script: the SDK as a third party gets it. Configures sdk/ on its own (nothing else of
# the oemlink tree), installs it into a scratch prefix, then configures, builds and unit-tests
# sdk/examples/hello-driver against that prefix only. The driver must export
# oemlink_driver_entry and nothing else. Run by ctest (SdkStandaloneHelloDriver) and .ci/run.
#   cmake -DSDK_SOURCE_DIR=sdk -DWORK_DIR=/tmp/x [-DGENERATOR=Ninja] [-DCXX_COMPILER=g++]
#         -P tests/sdk/hello_driver_out_of_tree.cmake
foreach(var SDK_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "hello_driver_out_of_tree.cmake: -D${var}=... is required")
  endif()
endforeach()
get_filename_component(SDK_SOURCE_DIR ${SDK_SOURCE_DIR} ABSOLUTE)
get_filename_component(WORK_DIR ${WORK_DIR} ABSOLUTE)
set(example ${SDK_SOURCE_DIR}/examples/hello-driver)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(configure_options -DCMAKE_BUILD_TYPE=Release)
if(NOT DEFINED GENERATOR)
  find_program(ninja ninja)
  if(ninja)
    set(GENERATOR Ninja)
  endif()
endif()
if(DEFINED GENERATOR)
  list(APPEND configure_options -G ${GENERATOR})
endif()
if(DEFINED CXX_COMPILER)
  list(APPEND configure_options -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
find_program(ccache ccache)
if(ccache)
  list(APPEND configure_options -DCMAKE_CXX_COMPILER_LAUNCHER=${ccache})
endif()

set(sdk_build ${WORK_DIR}/sdk-build)
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/hello-build)
file(REMOVE_RECURSE ${WORK_DIR})

# 1. The SDK alone: its own project, its own install.
run(${CMAKE_COMMAND} -S ${SDK_SOURCE_DIR} -B ${sdk_build} ${configure_options})
run(${CMAKE_COMMAND} --build ${sdk_build})
run(${CMAKE_COMMAND} --install ${sdk_build} --prefix ${prefix})
foreach(f include/oemlink/driver.h include/oemlink/driver.hpp include/oemlink/settings.hpp
          include/oemlink/settings_json.hpp include/oemlink/signals.hpp
          include/oemlink/testkit/fake_host.hpp include/oemlink/testkit/driver_harness.hpp
          lib/liboemlink_sdk_testkit.a
          lib/cmake/oemlink-sdk/oemlink-sdkConfig.cmake
          lib/cmake/oemlink-sdk/oemlink-sdkConfigVersion.cmake
          lib/cmake/oemlink-sdk/oemlink-sdk-functions.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the installed SDK lacks ${f}")
  endif()
endforeach()

# 2. The example against that prefix only.
run(${CMAKE_COMMAND} -S ${example} -B ${build} ${configure_options}
    -DCMAKE_PREFIX_PATH=${prefix} -Doemlink-sdk_DIR=${prefix}/lib/cmake/oemlink-sdk
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
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

# 3. Its unit tests, written with the installed test kit.
run(${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure --no-tests=error)
message(STATUS "standalone SDK OK; hello driver built and tested: ${driver}\n${run_output}")
