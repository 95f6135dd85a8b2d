// Where this gilbench runs from, so that its hints name commands the user has: a build of a
// source checkout (scripts/, bench/ beside it) or an installed tree (bin/gilbench beside
// share/gilbench: the .deb, cmake --install, the Lmod module, Spack).
#pragma once

#include <optional>
#include <string>

namespace gilbench::cli {

// share/gilbench of the installed tree this binary belongs to (bin/../share/gilbench), or
// nullopt when it runs from a build directory.
std::optional<std::string> installed_share();

// The command that writes a fidelity reference file against `gilbench serve`: the checkout's
// bench/cpython_probe.py, or the installed share/gilbench/bench/cpython_probe.py.
std::string probe_command();

}  // namespace gilbench::cli
