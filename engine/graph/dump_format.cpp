#include "engine/graph/dump_format.hpp"

#include <cstdio>
#include <sstream>

namespace terra::graph {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {
template <class V>
std::string json_list(const V& v) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  os << ']';
  return os.str();
}
}  // namespace

std::string meta_json(const trace::ValueMeta& m) {
  std::ostringstream os;
  os << "{\"shape\":" << json_list(m.shape) << ",\"strides\":" << json_list(m.strides) << ",\"offset\":" << m.offset
     << ",\"dtype\":" << json_string(dtype_name(m.dtype)) << ",\"device\":" << json_string(m.device.str()) << '}';
  return os.str();
}

std::string meta_str(const trace::ValueMeta& m) { return std::string(dtype_name(m.dtype)) + shape_str(m.shape); }

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
