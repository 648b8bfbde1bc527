// Generated fused CUDA kernels (kernels/fused_codegen.hpp, kernels/cuda/nvrtc.hpp,
// kernels/cuda/fused_elementwise.hpp): the source names the shared functors and passes functors
// with attributes as parameters; with CUDA built, every fusable op of elementwise_ops.def compiles
// with NVRTC (no device needed) in float32 and float64, with attributes, broadcast inputs and
// 0-d wrapped numbers; a broken source raises terra::Error with NVRTC's log; the cache hands back
// the same object. With a device, the CUDA kernel matches the CPU fused kernel.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "cuda_cases.hpp"
#include "engine/registry/registry.hpp"
#include "kernels/cpu/fused_elementwise.hpp"
#include "kernels/fused_codegen.hpp"
#include "terra_config.hpp"
#if TERRA_WITH_CUDA
#include "kernels/cuda/fused_elementwise.hpp"
#include "kernels/cuda/nvrtc.hpp"
#endif

namespace terra::test {
namespace {

struct OpList {
  std::vector<std::string> unary, binary;
};
const OpList& fusable_ops(DType dt) {
  static std::vector<OpList> lists(kNumDTypes);
  OpList& l = lists[static_cast<int>(dt)];
  if (l.unary.empty()) {
#define TERRA_UNARY_OP(op, F) if (cpu::fusable_elementwise(#op, dt)) l.unary.push_back(#op);
#define TERRA_BINARY_OP(op, F) if (cpu::fusable_elementwise(#op, dt)) l.binary.push_back(#op);
#include "kernels/common/elementwise_ops.def"
#undef TERRA_UNARY_OP
#undef TERRA_BINARY_OP
  }
  return l;
}

// Attributes other than the defaults where an op has them, so functors carry data.
Attrs attrs_for(const std::string& op) {
  const OpDef& def = Registry::instance().get(op);
  if (op == "add" || op == "sub") return make_attrs(def, {{"alpha", Scalar(0.5)}});
  if (op == "leaky_relu" || op == "leaky_relu_backward") return make_attrs(def, {{"negative_slope", 0.2}});
  if (op == "elu" || op == "elu_backward") return make_attrs(def, {{"alpha", 1.5}});
  if (op == "clamp") return make_attrs(def, {{"min", Scalar(-1.0)}, {"max", Scalar(1.5)}});
  if (op == "gelu" || op == "gelu_backward") return make_attrs(def, {{"approximate", "tanh"}});
  if (op == "softplus" || op == "softplus_backward") return make_attrs(def, {{"beta", 2.0}, {"threshold", 10.0}});
  if (op == "round") return make_attrs(def, {{"decimals", int64_t(1)}});
  if (op == "polygamma") return make_attrs(def, {{"n", int64_t(3)}});
  if (op == "threshold_backward") return make_attrs(def, {{"threshold", 0.25}});
  if (op == "div") return make_attrs(def, {{"rounding_mode", "floor"}});
  return make_attrs(def, {});
}

// One group of every fusable op of `dt`: in0 [4, 3], in1 [3] broadcast, in2 a 0-d int64 wrapped
// number; each unary op applied to the running value, each binary op to it and in1; the running
// value after the unary ops and the final one are stored.
std::shared_ptr<cpu::FusedKernel> all_ops_group(DType dt) {
  auto k = std::make_shared<cpu::FusedKernel>(dt, 3, 2);
  const int a = k->load(0), b = k->load(1), s = k->load(2);
  int r = k->apply("mul", attrs_for("mul"), {a, s});
  for (const std::string& op : fusable_ops(dt).unary) r = k->apply(op, attrs_for(op), {r});
  k->store(r, 0);
  for (const std::string& op : fusable_ops(dt).binary) r = k->apply(op, attrs_for(op), {r, b});
  k->store(r, 1);
  k->finish();
  return k;
}
const std::vector<fused::InputKind> kAllOpsInputs(DType dt) {
  return {{dt, false}, {dt, false}, {DType::Int64, true}};
}

TEST_CASE("fused codegen: the source calls the shared functors, attributes as parameters", "[cuda][fused]") {
  cpu::FusedKernel k(DType::Float32, 2, 1);
  const int x = k.load(0), s = k.load(1);
  const int y = k.apply("leaky_relu", attrs_for("leaky_relu"), {x});
  const int z = k.apply("tanh", attrs_for("tanh"), {y});
  k.store(k.apply("add", attrs_for("add"), {z, s}), 0);
  k.finish();
  const fused::Source src = fused::cuda_source(k, {{DType::Float32, false}, {DType::Float64, true}});
  CAPTURE(src.text);
  CHECK(src.text.find("extern \"C\" __global__ void terra_fused(") != std::string::npos);
  CHECK(src.text.find("terra::math::LeakyRelu f") != std::string::npos);  // a parameter: has a slope
  CHECK(src.text.find("terra::math::Add f") != std::string::npos);        // has alpha
  CHECK(src.text.find("terra::math::Tanh{}(") != std::string::npos);      // empty: made in place
  CHECK(src.text.find("float(in1[0])") != std::string::npos);             // a wrapped double, converted
  CHECK(src.text.find("const double* in1,") != std::string::npos);
  CHECK(src.functor_params.size() == 2);
  // Attribute values live in the parameters, so the source is the same for other values.
  cpu::FusedKernel k2(DType::Float32, 2, 1);
  const int x2 = k2.load(0), s2 = k2.load(1);
  const int y2 = k2.apply("leaky_relu", make_attrs(Registry::instance().get("leaky_relu"), {{"negative_slope", 0.3}}), {x2});
  k2.store(k2.apply("add", attrs_for("add"), {k2.apply("tanh", attrs_for("tanh"), {y2}), s2}), 0);
  k2.finish();
  CHECK(fused::cuda_source(k2, {{DType::Float32, false}, {DType::Float64, true}}).text == src.text);
  // Every header the source includes is embedded.
  for (const char* h : {"kernels/common/binary_math.hpp", "kernels/common/unary_backward_math.hpp",
                        "kernels/common/fused_params.hpp", "kernels/common/rtc_std.hpp", "tensor/macros.hpp"}) {
    bool found = false;
    for (const fused::EmbeddedHeader& e : fused::embedded_headers()) found = found || std::string(e.name) == h;
    CHECK(found);
  }
}

#if TERRA_WITH_CUDA

TEST_CASE("fused codegen: every fusable op compiles with NVRTC, float32 and float64", "[cuda][fused][nvrtc]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    CHECK(fusable_ops(dt).unary.size() >= 20);
    CHECK(fusable_ops(dt).binary.size() >= 15);
    const cuda::FusedKernel k(all_ops_group(dt), kAllOpsInputs(dt), "the all-ops group");
    CHECK(k.hash().size() == 16);
  }
}

TEST_CASE("NVRTC: a compile error raises terra::Error with the log; the cache returns the same object",
          "[cuda][nvrtc]") {
  try {
    cuda::nvrtc_compile("extern \"C\" __global__ void broken() { undeclared_name(); }", "a broken kernel");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("NVRTC could not compile a broken kernel") != std::string::npos);
    CHECK(what.find("undeclared_name") != std::string::npos);  // from NVRTC's log
  }
  const std::string source = "extern \"C\" __global__ void k(float* x) { x[0] = 1; }";
  const auto first = cuda::nvrtc_compile(source, "k");
  const size_t compiled = cuda::nvrtc_programs_compiled();
  CHECK(cuda::nvrtc_compile(source, "k") == first);
  CHECK(cuda::nvrtc_programs_compiled() == compiled);
  CHECK(cuda::nvrtc_compile(source + "\n", "k") != first);
}

TEST_CASE("NVRTC: a compiled kernel is kept on disk under TERRA_NVRTC_CACHE", "[cuda][nvrtc]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("terra_nvrtc_" + std::to_string(::getpid()));
  ::setenv("TERRA_NVRTC_CACHE", dir.c_str(), 1);
  const auto k = cuda::nvrtc_compile("extern \"C\" __global__ void on_disk(float* x) { x[0] = 2; }", "on_disk");
  ::unsetenv("TERRA_NVRTC_CACHE");
  const std::filesystem::path file = dir / (k->hash() + ".cubin");
  REQUIRE(std::filesystem::exists(file));
  CHECK(std::filesystem::file_size(file) > k->cubin().size());  // the key, then the CUBIN
  std::filesystem::remove_all(dir);
}

// Within the CUDA harness's tolerances (1e-5 relative for float32, 1e-12 for float64), not
// bitwise: CUDA's math library (expf, tanhf, powf, ...) is not glibc's, and NVRTC contracts
// a * b + c into one FMA, across fused ops too. Positive inputs keep every op (log, sqrt, pow, ...)
// away from NaN; those defined on [-1, 1] only (asin, ..., erfinv) get inputs scaled into it.
TEST_CASE("fused CUDA kernel equals the CPU fused kernel", "[cuda][fused]") {
  if (!have_device("the fused CUDA kernel against the CPU fused kernel")) return;
  uint64_t seed = 71;
  for (DType dt : {DType::Float32, DType::Float64}) {
    // Each op alone (a long chain would compound the devices' last-bit differences), on a
    // transposed input, a broadcast row and a 0-d int64 number.
    std::vector<std::string> ops = fusable_ops(dt).unary;
    ops.insert(ops.end(), fusable_ops(dt).binary.begin(), fusable_ops(dt).binary.end());
    for (const std::string& op : ops) {
      CAPTURE(dtype_name(dt), op);
      const bool binary = std::find(fusable_ops(dt).binary.begin(), fusable_ops(dt).binary.end(), op) !=
                          fusable_ops(dt).binary.end();
      auto k = std::make_shared<cpu::FusedKernel>(dt, 3, 2);
      const int a = k->load(0), b = k->load(1), s = k->load(2);
      const int scaled = k->apply("mul", attrs_for("mul"), {a, s});
      const int r = binary ? k->apply(op, attrs_for(op), {scaled, b}) : k->apply(op, attrs_for(op), {scaled});
      k->store(scaled, 0);
      k->store(r, 1);
      k->finish();
      const bool unit_domain = op == "asin" || op == "acos" || op == "atanh" || op == "erfinv";
      const double lo = unit_domain ? 0.05 : 0.5, hi = unit_domain ? 0.45 : 2.0;  // times 2 below
      const std::vector<Tensor> cpu_in = {call1("transpose", {random_tensor({37, 5}, dt, ++seed, lo, hi)}, {{"dim0", int64_t(0)}, {"dim1", int64_t(1)}}),
                                          random_tensor({37}, dt, ++seed, lo, hi),
                                          from_values({2}, {}, DType::Int64)};
      std::vector<Tensor> cpu_out = {Tensor::empty({5, 37}, dt), Tensor::empty({5, 37}, dt)};
      k->run(cpu_in, cpu_out);
      std::vector<Tensor> dev_in, dev_out;
      for (const Tensor& t : cpu_in) dev_in.push_back(to(t, kCuda));
      for (const Tensor& t : cpu_out) dev_out.push_back(Tensor::empty(t.shape(), dt, kCuda));
      cuda::FusedKernel(k, kAllOpsInputs(dt), op).run(dev_in, dev_out);
      for (size_t m = 0; m < cpu_out.size(); ++m) {
        const std::vector<double> want = values(cpu_out[m]), got = values(to(dev_out[m], kCpu));
        for (size_t i = 0; i < want.size(); ++i)
          CHECK(std::abs(got[i] - want[i]) <= cuda_atol(dt) + cuda_rtol(dt) * std::abs(want[i]));
      }
    }
  }
}

#else

TEST_CASE("NVRTC: not built", "[cuda][nvrtc]") {
  WARN("Terra was built without CUDA: generated fused kernels are not compiled with NVRTC here");
}

#endif

}  // namespace
}  // namespace terra::test
