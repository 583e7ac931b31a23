# Reference documentation of the -dev package.
# One man page per public C function (man 3 lifehook_run, ...), generated at build time from the doc
# comments of the header and the version script (docs/man/gen-function-pages.py); installed with the
# -dev component. The page list follows the header: a new LIFEHOOK_API function re-runs configure.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(LIFEHOOK_HEADER ${CMAKE_CURRENT_SOURCE_DIR}/abi/include/lifehook/lifehook.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${LIFEHOOK_HEADER})
file(STRINGS ${LIFEHOOK_HEADER} lifehook_api_lines REGEX "^LIFEHOOK_API ")
set(LIFEHOOK_FUNCTION_PAGES)
foreach(line ${lifehook_api_lines})
  if(line MATCHES "(lifehook_[a-z0-9_]+)\\(")
    list(APPEND LIFEHOOK_FUNCTION_PAGES ${CMAKE_CURRENT_BINARY_DIR}/man3/${CMAKE_MATCH_1}.3)
  endif()
endforeach()
add_custom_command(
  OUTPUT ${LIFEHOOK_FUNCTION_PAGES}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CMAKE_CURRENT_BINARY_DIR}/man3
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/gen-function-pages.py --check
          ${LIFEHOOK_HEADER} ${CMAKE_CURRENT_SOURCE_DIR}/abi/lifehook.map ${CMAKE_CURRENT_BINARY_DIR}/man3
  DEPENDS ${LIFEHOOK_HEADER} ${CMAKE_CURRENT_SOURCE_DIR}/abi/lifehook.map
          ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/gen-function-pages.py
  COMMENT "Generating the lifehook_*(3) man pages from lifehook.h"
  VERBATIM)
add_custom_target(lifehook_function_pages ALL DEPENDS ${LIFEHOOK_FUNCTION_PAGES})
install(FILES ${LIFEHOOK_FUNCTION_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3 COMPONENT dev)

