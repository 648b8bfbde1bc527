// to_device on the CPU side, in every build: a tensor already on the device comes back as
// itself, and a device Terra cannot use is a clear error. Round trips through a GPU are in
// tests/cuda/test_cuda.cpp.
#include "helpers.hpp"
#include "tensor/cuda/cuda_device.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("to_device");

TEST_CASE("to_device to the CPU returns the same tensor", "[transfer]") {
  Tensor x = transposed_copy(random_tensor({3, 4}, DType::Int64, 1));
  Tensor y = call1("to_device", {x}, {{"device", Device{}}});
  CHECK(y.is_same(x));
  CHECK(call1("to_device", {x}, {{"device", Device{}}, {"non_blocking", true}}).is_same(x));
}

TEST_CASE("to_device refuses a device Terra cannot use", "[transfer][errors]") {
  Tensor x = random_tensor({2}, DType::Float32, 2);
  // More devices than any machine has: the error names the op and the device, with or without CUDA.
  require_error([&] { call1("to_device", {x}, {{"device", parse_device("cuda:99")}}); }, ErrorKind::Runtime,
                {"to_device", "cannot use device cuda:99", "float32[2]"});
  if (!cuda::is_available())
    require_error([&] { call1("to_device", {x}, {{"device", parse_device("cuda")}}); }, ErrorKind::Runtime,
                  {"to_device", "cannot use device cuda:0", cuda::unavailable_reason()});
}
