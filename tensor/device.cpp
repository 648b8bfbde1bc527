#include "tensor/device.hpp"

#include "tensor/error.hpp"

namespace terra {

const char* device_type_name(DeviceType t) { return t == DeviceType::CPU ? "cpu" : "cuda"; }

std::string Device::str() const {
  if (type == DeviceType::CPU) return "cpu";
  return std::string("cuda:") + std::to_string(index);
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device{DeviceType::CPU, 0};
  if (s.rfind("cuda", 0) == 0) {
    if (s.size() == 4) return Device{DeviceType::CUDA, 0};
    if (s[4] == ':' && s.size() > 5) {
      try {
        return Device{DeviceType::CUDA, static_cast<int8_t>(std::stoi(s.substr(5)))};
      } catch (const std::exception&) {
      }
    }
  }
  fail(ErrorKind::Runtime, "Expected one of cpu, cuda device type at start of device string: ", s);
}

}  // namespace terra
