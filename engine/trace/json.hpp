// JSON pieces shared by the TraceGraph and plan dumps (DOT labels read the same escapes).
#pragma once
#include <sstream>
#include <string>

#include "engine/trace/record.hpp"

namespace terra::trace {

// A double-quoted string with JSON escapes ("\n" for newlines, \u00XX for other controls).
std::string json_string(const std::string& s);

template <class V>
std::string json_list(const V& items) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < items.size(); ++i) os << (i ? "," : "") << items[i];
  os << ']';
  return os.str();
}

// {"shape":[2,3],"strides":[3,1],"offset":0,"dtype":"float32","device":"cpu"}
std::string meta_json(const ValueMeta& m);

}  // namespace terra::trace
