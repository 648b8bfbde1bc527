// The CUDA kernel tests' shared harness: a case is one op call made on the CPU (the oracle) and on
// the device with the same inputs, including strided, transposed and broadcast device views and
// wrapped Python numbers. Each test file registers its table of cases with TERRA_CUDA_CASES; the
// registry walk in test_cuda.cpp checks that every op with a CUDA-specific kernel has a row in
// some table (or is named by TERRA_CUDA_OWN_TESTS when a TEST_CASE of its own covers it), and
// "CUDA kernels match the CPU kernels" runs every table when a device is present.
#pragma once
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace terra::test {

inline const Device kCpu{DeviceType::CPU, 0};
inline const Device kCuda{DeviceType::CUDA, 0};
inline const DType kAllDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32, DType::Float64};

// True when a CUDA device is present; otherwise says, visibly, what is skipped.
bool have_device(const std::string& what);

Tensor to(const Tensor& t, Device d, bool non_blocking = false);

// Tolerances of a CUDA result against the CPU kernel's.
inline double cuda_rtol(DType dt) { return dt == DType::Float32 ? 1e-5 : (dt == DType::Float64 ? 1e-12 : 0.0); }
inline double cuda_atol(DType dt) { return dt == DType::Float32 ? 1e-6 : (dt == DType::Float64 ? 1e-12 : 0.0); }

// An input: a contiguous CPU tensor and the view (if any) that both devices apply to their copy
// of it, so strided and broadcast layouts exist on the device too. A wrapped number stays on the
// CPU, as the dispatcher expects.
struct Input {
  Tensor base;
  std::function<Tensor(const Tensor&)> view;
  std::string layout = "contiguous";
};

struct Case {
  std::string op;
  std::vector<Input> inputs;
  NamedAttrs attrs = {};
  bool factory = false;      // takes device=cuda on the device run
  bool inplace = false;      // the in-place form (dispatch_inplace) of a functional op
  bool check_values = true;  // false for empty() and other outputs with unspecified values
  double rtol_scale = 1.0;   // > 1 where the device sums in another order (reductions, GEMM)
  std::string label() const;
};

Input contiguous(const Shape& shape, DType dt, uint64_t seed, double lo = -2, double hi = 2);
// Every other element of the last dim.
Input strided(Shape shape, DType dt, uint64_t seed, double lo = -2, double hi = 2);
// The last two dims swapped.
Input transposed(Shape shape, DType dt, uint64_t seed, double lo = -2, double hi = 2);
// Dim 0 broadcast with stride 0 inside a device tensor.
Input expanded(const Shape& shape, DType dt, uint64_t seed, double lo = -2, double hi = 2);
Input wrapped(double v, DType dt);
// An absent optional input (None in a tensor list: a `:` among advanced indices).
inline Input none() { return {Tensor(), nullptr, "None"}; }
// The four layouts above of one shape.
std::vector<Input> layouts(const Shape& shape, DType dt, uint64_t& seed, double lo = -2, double hi = 2);
// A contiguous int64 index tensor with values in [0, bound).
Input indices(const Shape& shape, int64_t bound, uint64_t seed);

// Runs a case on both devices: the same outputs (or the same kind of error), and the same inputs
// afterwards (in-place ops).
void check_case(const Case& c);

struct CaseTable {
  std::string family;
  std::function<std::vector<Case>()> make;
};
std::vector<CaseTable>& case_tables();
// Ops whose CUDA kernel has a TEST_CASE of its own rather than rows in a table.
std::vector<std::string>& own_tests();
inline int register_cases(const char* family, std::function<std::vector<Case>()> make) {
  case_tables().push_back({family, std::move(make)});
  return 0;
}
inline int register_own_tests(std::initializer_list<const char*> ops) {
  for (const char* op : ops) own_tests().push_back(op);
  return 0;
}

}  // namespace terra::test

#define TERRA_CUDA_CASES(family, fn) \
  static const int terra_cuda_cases_##family = ::terra::test::register_cases(#family, fn)
#define TERRA_CUDA_OWN_TESTS(family, ...) \
  static const int terra_cuda_own_tests_##family = ::terra::test::register_own_tests({__VA_ARGS__})
