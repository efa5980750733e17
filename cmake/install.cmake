# `cmake --install`: libsparsepose with its headers, a CMake package (find_package(sparsepose) ->
# sparsepose::sparsepose) and a pkg-config file; the sparsepose CLI (app/) and the GStreamer plugin
# (gst/) install themselves; the bundled assets the library and the CLI default to.
include(CMakePackageConfigHelpers)

set(SP_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sparsepose)
set(SP_ASSETS_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/sparsepose/assets)

install(TARGETS sparsepose_lib EXPORT sparseposeTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sparsepose DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/sparsepose/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sparsepose)

install(EXPORT sparseposeTargets NAMESPACE sparsepose:: DESTINATION ${SP_CMAKE_PACKAGE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/sparseposeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/sparseposeConfig.cmake INSTALL_DESTINATION ${SP_CMAKE_PACKAGE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sparseposeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sparseposeConfig.cmake ${PROJECT_BINARY_DIR}/sparseposeConfigVersion.cmake
        DESTINATION ${SP_CMAKE_PACKAGE_DIR})

# The .pc file finds its prefix from its own location (${pcfiledir}), so it stays right for
# `cmake --install --prefix DIR` and for a moved install.
file(RELATIVE_PATH SP_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" SP_PC_TO_PREFIX "${SP_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/sparsepose.pc.in ${PROJECT_BINARY_DIR}/sparsepose.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sparsepose.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# What "no model" means for the library and the CLI (models/model_choice.h), run's default clip, and
# the assets' licences.
install(FILES ${PROJECT_SOURCE_DIR}/assets/models/yolo11n-pose.onnx ${PROJECT_SOURCE_DIR}/assets/models/yolo11n-pose_sp-int8.onnx
        DESTINATION ${SP_ASSETS_INSTALL_DIR}/models)
install(FILES ${PROJECT_SOURCE_DIR}/assets/videos/dance.mp4 DESTINATION ${SP_ASSETS_INSTALL_DIR}/videos)
install(FILES ${PROJECT_SOURCE_DIR}/assets/README.md DESTINATION ${SP_ASSETS_INSTALL_DIR})
