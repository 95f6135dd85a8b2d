// `gilbench engines`: every registered engine's descriptor (model/engines.hpp) as a person
// reads it, or as one JSON document for scripts and docs, so that none of them hard-codes what
// an engine accepts or measures.
#pragma once

#include <string>

namespace gilbench::report {

std::string engines_text();
std::string engines_json();

}  // namespace gilbench::report
