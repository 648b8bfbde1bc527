// Small formatting helpers shared by the Program and CompiledPlan dumps (JSON and Graphviz dot).
#pragma once
#include <string>

#include "engine/graph/program.hpp"

namespace terra::graph {

// A JSON string literal, quotes included.
std::string json_string(const std::string& s);
// {"shape":[2,3],"strides":[3,1],"offset":0,"dtype":"float32","device":"cpu"}
std::string meta_json(const trace::ValueMeta& m);
// "float32[2, 3]"
std::string meta_str(const trace::ValueMeta& m);
// "add(alpha=1)": an op call with its attributes, for dumps.
std::string call_str(const Step& step);
// A label for a dot node: quotes and backslashes escaped.
std::string dot_label(const std::string& s);

}  // namespace terra::graph
