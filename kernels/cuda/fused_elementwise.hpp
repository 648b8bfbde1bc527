// The CUDA fused elementwise kernel (DESIGN.md §8): the program of a CPU fused kernel
// (kernels/cpu/fused_elementwise.hpp) turned into CUDA C++ (kernels/fused_codegen.hpp) and
// compiled with NVRTC when it is made, i.e. when the graph compiler builds the plan; run()
// launches it on the current stream. This header includes no CUDA headers.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/fused_elementwise.hpp"
#include "kernels/fused_codegen.hpp"

namespace terra::cuda {

class NvrtcKernel;

class FusedKernel {
 public:
  // Generates and compiles the source now (a compile error raises terra::Error naming `what`);
  // loading waits for the first run, which needs a device.
  FusedKernel(std::shared_ptr<const cpu::FusedKernel> program, std::vector<fused::InputKind> inputs,
              const std::string& what);

  // As cpu::FusedKernel::run, with every tensor on the device; never synchronizes.
  void run(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const;

  const std::string& source() const { return source_.text; }
  const std::string& hash() const;

 private:
  std::shared_ptr<const cpu::FusedKernel> program_;
  std::vector<fused::InputKind> inputs_;
  fused::Source source_;
  std::shared_ptr<const NvrtcKernel> compiled_;
};

}  // namespace terra::cuda
