#include "engine/graph/dump_format.hpp"

#include <cstdio>
#include <sstream>

namespace terra::graph {

std::string call_str(const Step& step) {
  std::ostringstream os;
  os << step.op->name();
  if (step.form == trace::CallForm::InPlace && step.op->effect != Effect::InPlace) os << '_';
  os << '(';
  for (size_t i = 0; i < step.attrs.size(); ++i)
    os << (i ? ", " : "") << step.attrs.names()[i] << '=' << attr_str(step.attrs.values()[i]);
  os << ')';
  return os.str();
}

std::string dot_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace terra::graph
