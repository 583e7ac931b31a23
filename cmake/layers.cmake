# The library's layers, lowest first, and the folder of each (its files directly in it; a folder
# is one layer). A layer may include its own headers and those of the layers below it, never one
# above: check_layers.cmake enforces it during the build, for every layer target.
#
#   api       plugin/*.cpp|hpp: the C ABI (lifehook_*), glue only
#   drivers   plugin/drivers: process, oci and host drivers (implement plugin/pod/driver.hpp)
#   pod       plugin/pod: the pod engine, its spec and the Driver interface it calls
#   probe     plugin/probe: probe specs, workers and results (the pod engine runs them)
#   context   plugin/context: lifehook_ctx's event loop and the operations in flight
#   handlers  handlers: exec, httpGet, tcpSocket, sleep, grpc, and the request model
#   os        plugin/os: processes, cgroups, namespaces, container exec, OCI config
#   common    plugin/common: errors, logging, bounded JSON, clock, strand
#
# Headers outside the library (lifehook/lifehook.h of abi/include, the system's, third parties')
# are open to every layer.
set(LIFEHOOK_LAYERS common os handlers context probe pod drivers api)
set(LIFEHOOK_LAYER_DIR_common plugin/common)
set(LIFEHOOK_LAYER_DIR_os plugin/os)
set(LIFEHOOK_LAYER_DIR_handlers handlers)
set(LIFEHOOK_LAYER_DIR_context plugin/context)
set(LIFEHOOK_LAYER_DIR_probe plugin/probe)
set(LIFEHOOK_LAYER_DIR_pod plugin/pod)
set(LIFEHOOK_LAYER_DIR_drivers plugin/drivers)
set(LIFEHOOK_LAYER_DIR_api plugin)
# The library's top folders: a file in them that is in no layer is an error too.
set(LIFEHOOK_LAYER_ROOTS plugin handlers)

# The layer of a path relative to the source root (its folder), or "" when it is in none.
function(lifehook_layer_of path out)
  cmake_path(GET path PARENT_PATH dir)
  foreach(layer IN LISTS LIFEHOOK_LAYERS)
    if(dir STREQUAL LIFEHOOK_LAYER_DIR_${layer})
      set(${out} ${layer} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()
