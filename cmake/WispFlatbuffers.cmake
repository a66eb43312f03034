# flatc runs on the build host for every preset (the wasm build included); generated headers are
# never committed. The header-only FlatBuffers runtime is copied into the build tree so the
# Emscripten build can use it without pulling /usr/include (glibc headers) into its search path.
find_program(WISP_FLATC flatc REQUIRED)
find_path(WISP_FLATBUFFERS_INCLUDE flatbuffers/flatbuffers.h PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)

set(WISP_THIRD_PARTY_INCLUDE "${CMAKE_BINARY_DIR}/third_party/include")
file(COPY "${WISP_FLATBUFFERS_INCLUDE}/flatbuffers" DESTINATION "${WISP_THIRD_PARTY_INCLUDE}")
set(WISP_GENERATED_DIR "${CMAKE_BINARY_DIR}/generated")

# wisp_flatbuffers_generate(<target> <schema>...): a header-only target exposing <name>_generated.h.
function(wisp_flatbuffers_generate target)
  set(headers)
  foreach(schema IN LISTS ARGN)
    get_filename_component(name "${schema}" NAME_WE)
    set(out "${WISP_GENERATED_DIR}/schemas/${name}_generated.h")
    add_custom_command(
      OUTPUT "${out}"
      COMMAND "${WISP_FLATC}" --cpp --scoped-enums --gen-object-api --gen-mutable
              -o "${WISP_GENERATED_DIR}/schemas" "${schema}"
      DEPENDS "${schema}"
      COMMENT "flatc ${name}.fbs"
      VERBATIM)
    list(APPEND headers "${out}")
  endforeach()
  add_custom_target(${target}_gen DEPENDS ${headers})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} SYSTEM INTERFACE "$<BUILD_INTERFACE:${WISP_GENERATED_DIR}>"
                             "$<BUILD_INTERFACE:${WISP_THIRD_PARTY_INCLUDE}>")
endfunction()
