# Renders the Lmod module file for one install prefix (packaging/lmod/gilbench.lua.in).
#
# As a script:
#   cmake -DIN=packaging/lmod/gilbench.lua.in -DOUT=FILE.lua -DCMAKE_INSTALL_PREFIX=P \
#         -DPROJECT_VERSION=0.1.0 [-DCMAKE_INSTALL_BINDIR=bin] [-DCMAKE_INSTALL_DATADIR=share] \
#         -P packaging/lmod/render.cmake
# or include()d from install(CODE ...), where CMAKE_INSTALL_PREFIX is the install-time prefix
# (`cmake --install --prefix P` changes it after configuring), so the module names the prefix
# the files really went to. Relative BINDIR/DATADIR are taken under the prefix, as
# GNUInstallDirs' CMAKE_INSTALL_FULL_* are.
foreach(var IN ITEMS IN OUT CMAKE_INSTALL_PREFIX PROJECT_VERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "render.cmake: -D${var}=... is missing (see the comment at the top of ${CMAKE_CURRENT_LIST_FILE})")
  endif()
endforeach()
if(NOT DEFINED CMAKE_INSTALL_BINDIR)
  set(CMAKE_INSTALL_BINDIR bin)
endif()
if(NOT DEFINED CMAKE_INSTALL_DATADIR)
  set(CMAKE_INSTALL_DATADIR share)
endif()
foreach(dir IN ITEMS BINDIR DATADIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file("${IN}" "${OUT}" @ONLY)
