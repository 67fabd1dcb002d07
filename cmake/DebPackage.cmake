# Debian package: `cmake --build build --target deb` (or cpack -G DEB in the build folder)
# makes wireshark-triage_<version>_<arch>.deb with
#   /usr/lib/<multiarch>/wireshark/plugins/<abi>/epan/triage.so   (the system plugin folder)
#   /usr/bin/triage-report, triage-merge, triage-batch
#   /usr/share/doc/wireshark-triage/README.md
# and a dependency on the libwireshark package (ABI) it was built against, limited to
# the same major.minor: Wireshark only loads plugins built for its own minor version.
# The package's files form the "deb" component, left out of a plain `cmake --install`.

file(RELATIVE_PATH _triage_plugin_rel "/usr" "${Wireshark_PLUGIN_INSTALL_DIR}")
install(TARGETS triage LIBRARY DESTINATION "${_triage_plugin_rel}/epan" COMPONENT deb EXCLUDE_FROM_ALL)
install(PROGRAMS tools/triage-report tools/triage-merge tools/triage-batch
        DESTINATION bin COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES README.md DESTINATION share/doc/wireshark-triage COMPONENT deb EXCLUDE_FROM_ALL)

# Which Debian package provides the libwireshark we link against (libwireshark16 on Debian 12).
get_target_property(_triage_epan_lib epan LOCATION)
set(_triage_libws_pkg "")
if(_triage_epan_lib)
  get_filename_component(_triage_epan_real "${_triage_epan_lib}" REALPATH)
  execute_process(COMMAND dpkg-query -S "${_triage_epan_real}" OUTPUT_VARIABLE _triage_dpkg_s
                  ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX MATCH "^[^:,]+" _triage_libws_pkg "${_triage_dpkg_s}")
endif()
if(NOT _triage_libws_pkg)
  set(_triage_libws_pkg "libwireshark-data")  # not a Debian install: at least the data files
endif()
math(EXPR _triage_next_minor "${Wireshark_MINOR_VERSION} + 1")
set(_triage_ws_next "${Wireshark_MAJOR_VERSION}.${_triage_next_minor}~")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "wireshark-triage")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "triage maintainers <triage@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Wireshark/tshark statistics: handshake RTT, unwanted protocols, outbound volume")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL deb)
set(CPACK_DEBIAN_DEB_PACKAGE_NAME "wireshark-triage")
set(CPACK_DEBIAN_DEB_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Three Statistics ▸ Triage dialogs for Wireshark and -z forms for tshark:\n TCP handshake RTT across all connections (histogram, percentiles, failures),\n alerts for protocols a policy forbids, and outbound bytes per destination.\n Includes triage-report (self-contained HTML), triage-merge and triage-batch.")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "${_triage_libws_pkg} (>= ${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}), ${_triage_libws_pkg} (<< ${_triage_ws_next}), python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "tshark | wireshark-qt")
set(CPACK_DEBIAN_PACKAGE_ENHANCES "wireshark-qt, tshark")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "parallel, rsync, openssh-client")  # triage-batch --hosts
# libc6, libstdc++6, libglib2.0-0 … from the binary itself (dpkg-shlibdeps, from dpkg-dev),
# found when the package is made (cmake/shlibdeps.cmake) and added by cpack's project config.
find_program(_triage_shlibdeps dpkg-shlibdeps)
if(NOT _triage_shlibdeps)
  message(STATUS "dpkg-shlibdeps missing: the .deb will list only libwireshark and python3 as dependencies")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/CPackProjectConfig.cmake.in" "${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake" @ONLY)
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake")
set(CPACK_STRIP_FILES ON)
set(CPACK_OUTPUT_FILE_PREFIX "${CMAKE_BINARY_DIR}/package")
include(CPack)

set(_triage_shlibdeps_cmd "")
if(_triage_shlibdeps)
  set(_triage_shlibdeps_cmd COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:triage> -DOUT=${CMAKE_BINARY_DIR}/shlibdeps.txt
      -P "${CMAKE_CURRENT_LIST_DIR}/shlibdeps.cmake")
endif()
add_custom_target(deb
  ${_triage_shlibdeps_cmd}
  COMMAND ${CMAKE_CPACK_COMMAND} -G DEB --config "${CMAKE_BINARY_DIR}/CPackConfig.cmake"
  WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
  COMMENT "Building the Debian package in ${CMAKE_BINARY_DIR}/package")
add_dependencies(deb triage)
