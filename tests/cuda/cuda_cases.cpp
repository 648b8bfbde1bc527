// The CUDA kernel tests' shared harness (cuda_cases.hpp).
#include "cuda_cases.hpp"

#include <optional>

#include "tensor/cuda/cuda_device.hpp"

namespace terra::test {

bool have_device(const std::string& what) {
  if (cuda::is_available()) return true;
  WARN("no CUDA device: skipping " << what << " (" << cuda::unavailable_reason() << ")");
  return false;
}

Tensor to(const Tensor& t, Device d, bool non_blocking) {
  return call1("to_device", {t}, {{"device", d}, {"non_blocking", non_blocking}});
}

std::string Case::label() const {
  std::ostringstream os;
  os << op << (inplace ? "_" : "") << "(";
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& b = inputs[i].base;
    if (!b.defined()) {
      os << (i ? ", " : "") << "None";
      continue;
    }
    os << (i ? ", " : "") << (b.is_wrapped_number() ? "wrapped " : "") << dtype_name(b.dtype()) << " "
       << inputs[i].layout;
    if (!b.is_wrapped_number()) os << shape_str(b.shape());
  }
  for (const auto& [name, value] : attrs) os << ", " << name << "=" << attr_str(value.value);
  os << ")";
  return os.str();
}

Input contiguous(const Shape& shape, DType dt, uint64_t seed, double lo, double hi) {
  return {random_tensor(shape, dt, seed, lo, hi), nullptr};
}
Input strided(Shape shape, DType dt, uint64_t seed, double lo, double hi) {
  if (shape.empty()) return contiguous(shape, dt, seed, lo, hi);
  shape.back() *= 2;
  return {random_tensor(shape, dt, seed, lo, hi),
          [](const Tensor& t) { return call1("slice", {t}, {{"dim", -1}, {"step", 2}}); }, "strided"};
}
Input transposed(Shape shape, DType dt, uint64_t seed, double lo, double hi) {
  if (shape.size() < 2) return strided(shape, dt, seed, lo, hi);
  std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  return {random_tensor(shape, dt, seed, lo, hi),
          [](const Tensor& t) { return call1("transpose", {t}, {{"dim0", -1}, {"dim1", -2}}); }, "transposed"};
}
Input expanded(const Shape& shape, DType dt, uint64_t seed, double lo, double hi) {
  if (shape.empty()) return contiguous(shape, dt, seed, lo, hi);
  Shape one = shape;
  one[0] = 1;
  std::vector<int64_t> size(shape.begin(), shape.end());
  return {random_tensor(one, dt, seed, lo, hi), [size](const Tensor& t) { return call1("expand", {t}, {{"size", size}}); },
          "expanded"};
}
Input wrapped(double v, DType dt) { return {Tensor::wrap_scalar(v, dt), nullptr, "number"}; }

std::vector<Input> layouts(const Shape& shape, DType dt, uint64_t& seed, double lo, double hi) {
  return {contiguous(shape, dt, seed++, lo, hi), strided(shape, dt, seed++, lo, hi),
          transposed(shape, dt, seed++, lo, hi), expanded(shape, dt, seed++, lo, hi)};
}

Input indices(const Shape& shape, int64_t bound, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = static_cast<double>(rng() % static_cast<uint64_t>(bound));
  return {from_values(v, shape, DType::Int64), nullptr, "indices"};
}

namespace {

void check_same(const Tensor& cpu, const Tensor& dev, bool compare_values, double rtol_scale) {
  REQUIRE(dev.device() == kCuda);
  REQUIRE(dev.shape() == cpu.shape());
  REQUIRE(dev.dtype() == cpu.dtype());
  if (compare_values) check_values(to(dev, kCpu), values(cpu), cuda_rtol(cpu.dtype()) * rtol_scale, cuda_atol(cpu.dtype()) * rtol_scale);
}

std::vector<Tensor> run(const Case& c, const std::vector<Tensor>& inputs, const NamedAttrs& attrs) {
  if (c.inplace) return {call_inplace(c.op, inputs, attrs)};
  return call(c.op, inputs, attrs);
}

}  // namespace

void check_case(const Case& c) {
  INFO(c.label());
  // Device copies first: an in-place op changes the CPU bases.
  std::vector<Tensor> cpu_in, dev_in;
  for (const Input& in : c.inputs) {
    Tensor dev_base = !in.base.defined() || in.base.is_wrapped_number() ? in.base : to(in.base, kCuda);
    cpu_in.push_back(in.view ? in.view(in.base) : in.base);
    dev_in.push_back(in.view ? in.view(dev_base) : dev_base);
  }
  NamedAttrs dev_attrs = c.attrs;
  if (c.factory) dev_attrs.push_back({"device", kCuda});

  std::vector<Tensor> cpu_out, dev_out;
  std::optional<Error> cpu_error, dev_error;
  try {
    cpu_out = run(c, cpu_in, c.attrs);
  } catch (const Error& e) {
    cpu_error = e;
  }
  try {
    dev_out = run(c, dev_in, dev_attrs);
  } catch (const Error& e) {
    dev_error = e;
  }
  if (cpu_error) {
    INFO("the CPU kernel raised: " << cpu_error->what());
    // Integer division by zero raises on the CPU only, as in PyTorch (Note [Integer division by
    // zero on CUDA], kernels/cuda/elementwise.cuh).
    if (!dev_error && std::string(cpu_error->what()).find("ZeroDivisionError") != std::string::npos) return;
    REQUIRE(dev_error);
    CHECK(dev_error->kind() == cpu_error->kind());
    return;
  }
  if (dev_error) FAIL("the CUDA kernel raised: " << dev_error->what());
  REQUIRE(dev_out.size() == cpu_out.size());
  for (size_t i = 0; i < cpu_out.size(); ++i) check_same(cpu_out[i], dev_out[i], c.check_values, c.rtol_scale);
  for (size_t i = 0; i < cpu_in.size(); ++i)
    if (cpu_in[i].defined() && !cpu_in[i].is_wrapped_number()) check_same(cpu_in[i], dev_in[i], true, c.rtol_scale);
}

std::vector<CaseTable>& case_tables() {
  static std::vector<CaseTable> tables;
  return tables;
}
std::vector<std::string>& own_tests() {
  static std::vector<std::string> ops;
  return ops;
}

}  // namespace terra::test
