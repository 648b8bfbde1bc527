// Small formatting helpers shared by the Program and CompiledPlan dumps (JSON and Graphviz dot).
#pragma once
#include <string>

#include "engine/graph/program.hpp"
#include "engine/trace/json.hpp"

namespace terra::graph {

using trace::json_list;
using trace::json_string;
using trace::meta_json;
using trace::meta_str;
// "add(alpha=1)": an op call with its attributes, for dumps.
std::string call_str(const Step& step);
// A label for a dot node: quotes and backslashes escaped.
std::string dot_label(const std::string& s);

}  // namespace terra::graph
