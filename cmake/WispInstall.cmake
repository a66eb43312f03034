# `cmake --install` rules and the exported package, so a separate project can use
#   find_package(Wisp 0.1 REQUIRED)                      # Wisp::runtime, Wisp::platform
#   find_package(Wisp 0.1 REQUIRED COMPONENTS client)    # + Wisp::client (needs Boost, OpenSSL)
# Headers keep their repository paths under include/wisp ("runtime/api/load_model.h"), because
# every header includes its neighbours by those paths. The generated schema header and the exact
# FlatBuffers headers it was generated against are installed too: flatc's output refuses any
# other FlatBuffers version, so a consumer must not pick up whatever its system has.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WISP_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/wisp")
set(WISP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/Wisp")

# wisp_install_targets(<export-set> <target>:<exported name>...)
function(wisp_install_targets export_set)
  set(targets)
  foreach(pair IN LISTS ARGN)
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 target)
    list(GET pair 1 exported)
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${exported})
    list(APPEND targets ${target})
  endforeach()
  install(TARGETS ${targets} EXPORT ${export_set}
          ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
          INCLUDES DESTINATION "${WISP_INSTALL_INCLUDEDIR}")
  install(EXPORT ${export_set} NAMESPACE Wisp:: DESTINATION "${WISP_INSTALL_CMAKEDIR}")
endfunction()

# The core: what loading a .wisp/.tflite and invoking it needs, plus files and threads.
target_include_directories(wisp_schemas SYSTEM INTERFACE
  "$<INSTALL_INTERFACE:${WISP_INSTALL_INCLUDEDIR}>"
  "$<INSTALL_INTERFACE:${WISP_INSTALL_INCLUDEDIR}/third_party>")
wisp_install_targets(WispTargets wisp_runtime:runtime wisp_microkernels:microkernels
                     wisp_schemas:schemas wisp_platform:platform wisp_thread_pool:thread_pool
                     wisp_file_io:file_io)
install(DIRECTORY "${CMAKE_SOURCE_DIR}/runtime/" DESTINATION "${WISP_INSTALL_INCLUDEDIR}/runtime"
        FILES_MATCHING PATTERN "*.h")
install(DIRECTORY "${CMAKE_SOURCE_DIR}/native/platform/"
        DESTINATION "${WISP_INSTALL_INCLUDEDIR}/native/platform" FILES_MATCHING PATTERN "*.h")
install(DIRECTORY "${WISP_GENERATED_DIR}/schemas" DESTINATION "${WISP_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.h")
install(DIRECTORY "${WISP_THIRD_PARTY_INCLUDE}/flatbuffers"
        DESTINATION "${WISP_INSTALL_INCLUDEDIR}/third_party")

# The registry client, a component of its own: its dependencies (Boost, OpenSSL, zlib,
# nlohmann_json) are only looked for by projects that ask for it.
wisp_install_targets(WispClientTargets wisp_client:client wisp_common:common)
install(FILES "${CMAKE_SOURCE_DIR}/native/client/client.h"
        DESTINATION "${WISP_INSTALL_INCLUDEDIR}/native/client")
install(FILES "${CMAKE_SOURCE_DIR}/native/common/util.h" "${CMAKE_SOURCE_DIR}/native/common/chunker.h"
        DESTINATION "${WISP_INSTALL_INCLUDEDIR}/native/common")

install(TARGETS wisp wisp-server RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

configure_package_config_file("${CMAKE_SOURCE_DIR}/cmake/WispConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/WispConfig.cmake" INSTALL_DESTINATION "${WISP_INSTALL_CMAKEDIR}")
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file("${CMAKE_BINARY_DIR}/WispConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/WispConfig.cmake" "${CMAKE_BINARY_DIR}/WispConfigVersion.cmake"
        DESTINATION "${WISP_INSTALL_CMAKEDIR}")
