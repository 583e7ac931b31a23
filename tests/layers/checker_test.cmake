# cmake -DCHECKER=<cmake/check_layers.cmake> -DWORK=<scratch dir> -P checker_test.cmake
# Builds small source trees under WORK and runs the checker on them: upward includes (relative,
# from the root, in <>) and an include of a folder in no layer must fail with the file, the line,
# the include and the rule named; downward and same-layer includes must pass.
cmake_minimum_required(VERSION 3.25)
set(failures 0)

function(fixture name)  # fixture(<name> <path> <content> [<path> <content> ...])
  file(REMOVE_RECURSE ${WORK}/${name})
  set(args ${ARGN})
  while(args)
    list(POP_FRONT args path content)
    file(WRITE ${WORK}/${name}/${path} "${content}")
  endwhile()
endfunction()

# expect(<fixture> <layer> PASS|FAIL [<text the output must contain> ...])
function(expect name layer want)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${WORK}/${name} -DLAYER=${layer} -P ${CHECKER}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")  # CMake wraps its messages
  set(ok TRUE)
  if(want STREQUAL "PASS" AND NOT rc EQUAL 0)
    set(ok FALSE)
  elseif(want STREQUAL "FAIL" AND rc EQUAL 0)
    set(ok FALSE)
  endif()
  foreach(text IN LISTS ARGN)
    string(FIND "${flat}" "${text}" at)
    if(at LESS 0)
      set(ok FALSE)
      message("  missing: ${text}")
    endif()
  endforeach()
  if(NOT ok)
    message("FAIL: ${name}, layer ${layer}: wanted ${want}, exit ${rc}:\n${out}")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  endif()
endfunction()

set(handler "#pragma once\n#include \"../plugin/os/child.hpp\"  // down: allowed\n")
fixture(upward_relative
  handlers/handler.hpp "${handler}"
  plugin/os/child.hpp "#pragma once\n#include <vector>\n\n#include \"../../handlers/handler.hpp\"\n")
expect(upward_relative os FAIL
  "plugin/os/child.hpp:4: #include \"../../handlers/handler.hpp\" (handlers/handler.hpp)"
  "reaches up from layer os to layer handlers"
  "layer os includes only its own headers and those of common")
expect(upward_relative handlers PASS)

fixture(upward_from_root
  handlers/handler.hpp "${handler}"
  plugin/os/child.hpp "#pragma once\n"
  plugin/common/errors.cpp "#include <handlers/handler.hpp>\n#include \"plugin/pod/pod.hpp\"\n"
  plugin/pod/pod.hpp "#pragma once\n")
expect(upward_from_root common FAIL
  "plugin/common/errors.cpp:1: #include <handlers/handler.hpp>"
  "plugin/common/errors.cpp:2: #include \"plugin/pod/pod.hpp\" (plugin/pod/pod.hpp) reaches up from layer common to layer pod"
  "layer common includes only its own headers")

fixture(no_layer
  plugin/experimental/x.hpp "#pragma once\n"
  plugin/drivers/d.cpp "#include \"../experimental/x.hpp\"\n#include \"lifehook/lifehook.h\"\n"
  abi/include/lifehook/lifehook.h "\n")
expect(no_layer drivers FAIL "plugin/drivers/d.cpp:1: #include \"../experimental/x.hpp\" (plugin/experimental/x.hpp) is in no layer")

fixture(downward
  plugin/pod_api.cpp "#include \"pod/pod.hpp\"\n#include \"common/errors.hpp\"\n"
  plugin/pod/pod.hpp "#pragma once\n#include \"../probe/probe.hpp\"\n"
  plugin/probe/probe.hpp "#pragma once\n#include \"../../handlers/model.hpp\"\n"
  handlers/model.hpp "#pragma once\n#include \"../plugin/common/errors.hpp\"\n#include <nlohmann/json.hpp>\n"
  plugin/common/errors.hpp "#pragma once\n")
expect(downward api PASS)
expect(downward pod PASS)
expect(downward probe PASS)
expect(downward handlers PASS)

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} expectation(s) of the layering check failed")
endif()
message("the layering check refuses every upward include it was shown")
