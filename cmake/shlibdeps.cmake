# Run as `cmake -DLIB=<triage.so> -DOUT=<file> -P shlibdeps.cmake` by the deb target:
# writes the shared-library dependencies dpkg-shlibdeps finds for LIB (libc6,
# libglib2.0-0, libwireshark…) to OUT. dpkg 1.22 (Debian 13) refuses to run
# without a debian/control, which CPack's own call does not provide, so it runs
# here in a scratch folder holding a minimal one.
string(RANDOM LENGTH 12 tag)  # two builds of the target at once must not share it
set(work "${OUT}.${tag}.d")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}/debian")
file(WRITE "${work}/debian/control"
     "Source: wireshark-triage\n\nPackage: wireshark-triage\nArchitecture: any\n")
execute_process(COMMAND dpkg-shlibdeps -O --ignore-missing-info "${LIB}"
                WORKING_DIRECTORY "${work}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(REMOVE_RECURSE "${work}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dpkg-shlibdeps ${LIB} failed: ${err}")
endif()
string(REGEX MATCH "shlibs:Depends=[^\n]*" line "${out}")
string(REPLACE "shlibs:Depends=" "" deps "${line}")
string(STRIP "${deps}" deps)
file(WRITE "${OUT}.${tag}" "${deps}")
file(RENAME "${OUT}.${tag}" "${OUT}")
