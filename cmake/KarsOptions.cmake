# Every KARS_* cache variable the build understands. Anything else starting with KARS_ is a typo
# and stops the configure with one line, instead of being silently ignored.
option(KARS_BUILD_TESTS  "Build the tests"                           ON)
option(KARS_BUILD_BENCH  "Build the Google Benchmark suites"         OFF)
option(KARS_BUILD_HOSTS  "Build karsd, the relay and the kars CLI"   ON)
option(KARS_BUILD_MESH   "Build libkars-mesh (links GPL-3.0 libsignal-protocol-c)" ON)
option(KARS_BUILD_PYTHON "Build the Python extension module"         OFF)
option(KARS_BUILD_NODE   "Build the Node addon"                      OFF)
option(KARS_BUILD_FUZZ   "Build libFuzzer targets (needs clang)"     OFF)
set(KARS_SANITIZE "" CACHE STRING "Sanitizers: empty, address,undefined or thread")

set(_kars_known_options
  KARS_BUILD_TESTS KARS_BUILD_BENCH KARS_BUILD_HOSTS KARS_BUILD_MESH KARS_BUILD_PYTHON
  KARS_BUILD_NODE KARS_BUILD_FUZZ KARS_SANITIZE)
get_cmake_property(_kars_cache_vars CACHE_VARIABLES)
foreach(_var IN LISTS _kars_cache_vars)
  if(_var MATCHES "^KARS_" AND NOT _var IN_LIST _kars_known_options)
    message(FATAL_ERROR "kars: unknown option ${_var} (the known ones are in cmake/KarsOptions.cmake)")
  endif()
endforeach()

set(_kars_sanitizers "" "address,undefined" "thread")
if(NOT KARS_SANITIZE IN_LIST _kars_sanitizers)
  message(FATAL_ERROR "kars: KARS_SANITIZE=${KARS_SANITIZE} is not supported; use address,undefined or thread")
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
