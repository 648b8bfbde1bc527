#include "engine/trace/json.hpp"

#include <cstdio>

namespace terra::trace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
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

std::string meta_json(const ValueMeta& m) {
  return "{\"shape\":" + json_list(m.shape) + ",\"strides\":" + json_list(m.strides) +
         ",\"offset\":" + std::to_string(m.offset) + ",\"dtype\":" + json_string(dtype_name(m.dtype)) +
         ",\"device\":" + json_string(m.device.str()) + "}";
}

}  // namespace terra::trace
