// Where a tensor lives. The device abstraction exists from the start so kernels, allocators and
// the dispatcher are all indexed by device type, even in a build without CUDA.
#pragma once
#include <cstdint>
#include <string>

namespace terra {

enum class DeviceType : uint8_t { CPU, CUDA };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int8_t index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"
};

const char* device_type_name(DeviceType t);
Device parse_device(const std::string& s);  // "cpu", "cuda", "cuda:1"; throws terra::Error

}  // namespace terra
