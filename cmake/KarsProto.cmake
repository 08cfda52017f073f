# kars_proto_library(NAME name PROTOS a.proto ... [GRPC])
# Generates C++ from proto/kars/v1/*.proto into an OBJECT library. Generated code is not ours:
# it builds without -Werror. A proto library that belongs in libkars must be registered with
# kars_add_core_part() so its objects land in libkars.so and libkars.a. Never compile one .proto
# into two shared libraries: both would register it with the one protobuf descriptor pool.
set(KARS_PROTO_ROOT "${CMAKE_SOURCE_DIR}/proto")
set(KARS_PROTO_OUT "${CMAKE_BINARY_DIR}/gen")
function(kars_proto_library)
  cmake_parse_arguments(P "GRPC" "NAME" "PROTOS;DEPS" ${ARGN})
  set(srcs)
  foreach(proto IN LISTS P_PROTOS)
    get_filename_component(abs "${proto}" ABSOLUTE)
    file(RELATIVE_PATH rel "${KARS_PROTO_ROOT}" "${abs}")
    string(REGEX REPLACE "\\.proto$" "" stem "${rel}")
    set(outs "${KARS_PROTO_OUT}/${stem}.pb.cc" "${KARS_PROTO_OUT}/${stem}.pb.h")
    set(cmd $<TARGET_FILE:protobuf::protoc> -I "${KARS_PROTO_ROOT}" --cpp_out "${KARS_PROTO_OUT}")
    if(P_GRPC)
      list(APPEND outs "${KARS_PROTO_OUT}/${stem}.grpc.pb.cc" "${KARS_PROTO_OUT}/${stem}.grpc.pb.h")
      list(APPEND cmd --grpc_out "${KARS_PROTO_OUT}"
        "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
    endif()
    add_custom_command(OUTPUT ${outs}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${KARS_PROTO_OUT}"
      COMMAND ${cmd} "${abs}"
      DEPENDS "${abs}" protobuf::protoc
      COMMENT "protoc ${rel}" VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${P_NAME} OBJECT ${srcs})
  target_include_directories(${P_NAME} PUBLIC "${KARS_PROTO_OUT}")
  target_link_libraries(${P_NAME} PUBLIC protobuf::libprotobuf ${P_DEPS})
  if(P_GRPC)
    target_link_libraries(${P_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()
