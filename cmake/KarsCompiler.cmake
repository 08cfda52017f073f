set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_C_STANDARD 99)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_C_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 11)
  message(FATAL_ERROR "kars: needs g++ 11 or newer for C++20 (found ${CMAKE_CXX_COMPILER_VERSION}); run scripts/bootstrap")
endif()

# Warnings are errors for our own code only; generated protobuf/gRPC sources get kars_generated_flags.
set(KARS_WARNINGS -Wall -Wextra -Werror)
add_library(kars_warnings INTERFACE)
target_compile_options(kars_warnings INTERFACE ${KARS_WARNINGS})

if(KARS_SANITIZE)
  add_compile_options(-fsanitize=${KARS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${KARS_SANITIZE})
endif()

# Links a shared library so that it exports only the symbols its version script names.
function(kars_export_only target version_script)
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${version_script}" "-Wl,--exclude-libs,ALL" "-Wl,--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${version_script}")
endfunction()

if(KARS_BUILD_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "kars: KARS_BUILD_FUZZ needs clang (libFuzzer); use 'make fuzz', which configures build-fuzz with clang")
endif()
if(KARS_BUILD_FUZZ)
  # Coverage for the library code too, not only the fuzz entry points; libFuzzer links only
  # into the fuzz targets (fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
