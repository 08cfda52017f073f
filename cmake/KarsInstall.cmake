include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/kars" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS kars kars_static
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")

# pkg-config: `pkg-config --libs kars` links the shared library; `--static` adds what libkars.a needs.
# The .pc file locates the prefix relative to itself, so a staged or relocated install works.
file(RELATIVE_PATH KARS_PC_PREFIX_FROM_PCFILEDIR "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" KARS_PC_PREFIX_FROM_PCFILEDIR "${KARS_PC_PREFIX_FROM_PCFILEDIR}")
set(KARS_PC_REQUIRES_PRIVATE "libcrypto libssl protobuf yaml-cpp re2 libhs absl_status absl_statusor absl_strings absl_synchronization absl_time absl_civil_time absl_flat_hash_map absl_flat_hash_set absl_optional")
configure_file("${PROJECT_SOURCE_DIR}/cmake/kars.pc.in" "${PROJECT_BINARY_DIR}/kars.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/kars.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/karsConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/karsConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/kars"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/karsConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/karsConfig.cmake" "${PROJECT_BINARY_DIR}/karsConfigVersion.cmake"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/kars")
