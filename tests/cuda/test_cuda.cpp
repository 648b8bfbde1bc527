// The CUDA backend. Without a device (or in a build without CUDA) the device tests print a
// visible skip message and pass; what needs no device always runs: the allocator's size classes,
// the probe, the errors for a missing device, and the walk of the registry (every op with a CUDA
// kernel has a CPU kernel and a row in some case table). With a device, every CUDA kernel is
// checked against the CPU kernel, the oracle, on random data: every dtype, contiguous, strided,
// transposed and broadcast inputs, wrapped Python numbers, empty and 0-d tensors. This file holds
// the elementwise, copy, factory and view tables; other families register theirs from their own
// files (cuda_cases.hpp).
#include <set>
#include <vector>

#include "cuda_cases.hpp"
#include "tensor/cuda/cuda_allocator.hpp"
#include "tensor/cuda/cuda_device.hpp"
#include "terra_config.hpp"

using namespace terra;
using namespace terra::test;

namespace {

const std::vector<std::pair<const char*, NamedAttrs>>& unary_ops() {
  static const std::vector<std::pair<const char*, NamedAttrs>> ops = {
      {"neg", {}}, {"abs", {}}, {"sign", {}}, {"exp", {}}, {"log", {}}, {"log1p", {}}, {"expm1", {}},
      {"sqrt", {}}, {"rsqrt", {}}, {"sin", {}}, {"cos", {}}, {"tanh", {}}, {"sigmoid", {}}, {"relu", {}},
      {"gelu", {}}, {"gelu", {{"approximate", "tanh"}}}, {"silu", {}}, {"softplus", {}},
      {"softplus", {{"beta", 2.0}, {"threshold", 3.0}}}, {"leaky_relu", {{"negative_slope", 0.2}}},
      {"elu", {{"alpha", 1.5}}}, {"erf", {}}, {"floor", {}}, {"ceil", {}}, {"round", {}},
      {"round", {{"decimals", 2}}}, {"reciprocal", {}}, {"clamp", {{"min", -1}, {"max", 2}}},
      {"clamp", {{"min", 0.5}}}, {"logical_not", {}}, {"isnan", {}}, {"isinf", {}}, {"log2", {}}, {"log10", {}},
      {"atan", {}}, {"asin", {}}, {"acos", {}}, {"sinh", {}}, {"cosh", {}}, {"asinh", {}}, {"atanh", {}},
      {"tan", {}}, {"erfc", {}}, {"erfinv", {}}, {"lgamma", {}}, {"digamma", {}}, {"polygamma", {{"n", 0}}},
      {"polygamma", {{"n", 1}}}, {"polygamma", {{"n", 3}}}, {"bitwise_not", {}},
  };
  return ops;
}

const std::vector<std::pair<const char*, NamedAttrs>>& binary_ops() {
  static const std::vector<std::pair<const char*, NamedAttrs>> ops = {
      {"add", {}}, {"add", {{"alpha", 2}}}, {"sub", {}}, {"sub", {{"alpha", 3}}}, {"mul", {}}, {"div", {}},
      {"div", {{"rounding_mode", "trunc"}}}, {"div", {{"rounding_mode", "floor"}}}, {"remainder", {}},
      {"maximum", {}}, {"minimum", {}}, {"pow", {}}, {"atan2", {}}, {"eq", {}}, {"ne", {}}, {"lt", {}},
      {"le", {}}, {"gt", {}}, {"ge", {}}, {"logical_and", {}}, {"logical_or", {}}, {"logical_xor", {}},
      // Integer-only: a float case is the same error on both devices; shift counts outside the
      // width (the negative draws) are defined, so they compare too.
      {"bitwise_and", {}}, {"bitwise_or", {}}, {"bitwise_xor", {}}, {"bitwise_left_shift", {}},
      {"bitwise_right_shift", {}}, {"gcd", {}}, {"lcm", {}},
      // The fused backward ops of the activations: (grad_output, input or result).
      {"tanh_backward", {}}, {"sigmoid_backward", {}}, {"threshold_backward", {{"threshold", 0.0}}},
      {"gelu_backward", {}}, {"gelu_backward", {{"approximate", "tanh"}}}, {"silu_backward", {}},
      {"elu_backward", {{"alpha", 1.0}}}, {"leaky_relu_backward", {{"negative_slope", 0.01}}},
      {"softplus_backward", {{"beta", 1.0}, {"threshold", 20.0}}},
  };
  return ops;
}

std::vector<Case> elementwise_cases() {
  std::vector<Case> cases;
  uint64_t seed = 100;
  const Shape shape{3, 5, 7};
  for (const auto& [op, attrs] : unary_ops()) {
    for (DType dt : kAllDTypes) {
      for (Input& in : layouts(shape, dt, seed)) cases.push_back({op, {in}, attrs});
      // A positive domain too, for log, sqrt and friends.
      cases.push_back({op, {contiguous({40}, dt, seed++, 0.1, 9)}, attrs});
      cases.push_back({op, {contiguous({}, dt, seed++)}, attrs});
      cases.push_back({op, {contiguous({0, 4}, dt, seed++)}, attrs});
    }
  }
  for (const auto& [op, attrs] : binary_ops()) {
    for (DType dt : kAllDTypes) {
      for (Input& a : layouts(shape, dt, seed)) cases.push_back({op, {a, transposed(shape, dt, seed++, -9, 9)}, attrs});
      cases.push_back({op, {contiguous({4, 1, 6}, dt, seed++), contiguous({5, 6}, dt, seed++, 0.5, 3)}, attrs});
      cases.push_back({op, {contiguous(shape, dt, seed++), wrapped(3, dt == DType::Bool ? DType::Bool : DType::Int64)},
                       attrs});
      cases.push_back({op, {contiguous(shape, dt, seed++), wrapped(-1.5, DType::Float64)}, attrs});
      cases.push_back({op, {wrapped(2, DType::Int64), strided(shape, dt, seed++, 0.5, 3)}, attrs});
      cases.push_back({op, {contiguous({}, dt, seed++), contiguous({2, 3}, dt, seed++)}, attrs});
      cases.push_back({op, {contiguous({0, 3}, dt, seed++), contiguous({3}, dt, seed++)}, attrs});
    }
  }
  for (DType dt : kAllDTypes) {
    cases.push_back({"where", {contiguous({4, 1, 6}, DType::Bool, seed++), contiguous({5, 6}, dt, seed++),
                               transposed({4, 5, 6}, dt, seed++)}});
    cases.push_back({"where", {strided({3, 8}, DType::Bool, seed++), contiguous({3, 8}, dt, seed++), wrapped(7, DType::Int64)}});
    cases.push_back({"where", {expanded({3, 8}, DType::Bool, seed++), wrapped(0.5, DType::Float64),
                               contiguous({8}, dt, seed++)}});
  }
  // In-place forms write through strided and broadcast device views.
  for (DType dt : {DType::Float32, DType::Int64}) {
    cases.push_back({"mul", {transposed(shape, dt, seed++), wrapped(3, DType::Int64)}, {}, false, true});
    cases.push_back({"add", {strided(shape, dt, seed++), contiguous({7}, dt, seed++)}, {{"alpha", 2}}, false, true});
    cases.push_back({"neg", {transposed(shape, dt, seed++)}, {}, false, true});
  }
  return cases;
}

std::vector<Case> copy_and_factory_cases() {
  std::vector<Case> cases;
  uint64_t seed = 900;
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      cases.push_back({"to_dtype", {transposed({4, 6}, from, seed++, -9, 9)}, {{"dtype", to}}});
      cases.push_back({"to_dtype", {contiguous({33}, from, seed++, -9, 9)}, {{"dtype", to}}});
      cases.push_back({"copy_", {transposed({3, 4}, to, seed++), contiguous({4}, from, seed++, -9, 9)}});
      cases.push_back({"copy_", {strided({3, 4}, to, seed++), expanded({3, 4}, from, seed++, -9, 9)}});
    }
    cases.push_back({"copy_", {contiguous({5, 7}, from, seed++), contiguous({5, 7}, from, seed++)}});  // memcpy
    cases.push_back({"copy_", {strided({5, 7}, from, seed++), wrapped(1, DType::Int64)}});
    cases.push_back({"clone", {transposed({5, 7}, from, seed++)}});
    cases.push_back({"clone", {contiguous({5, 7}, from, seed++)}});
    cases.push_back({"contiguous", {transposed({5, 7}, from, seed++)}});
    cases.push_back({"contiguous", {contiguous({5, 7}, from, seed++)}});
    cases.push_back({"contiguous", {expanded({4, 3, 2}, from, seed++)}});
    for (Scalar v : {Scalar(int64_t{0}), Scalar(int64_t{7}), Scalar(true)}) {
      cases.push_back({"fill_", {contiguous({5, 7}, from, seed++)}, {{"value", v}}});  // memset for 0
      cases.push_back({"fill_", {transposed({5, 7}, from, seed++)}, {{"value", v}}});
    }
    if (is_floating(from)) cases.push_back({"fill_", {strided({5, 7}, from, seed++)}, {{"value", -0.0}}});
    for (const char* op : {"zeros", "ones", "empty"}) {
      cases.push_back({op, {}, {{"size", {3, 4}}, {"dtype", from}}, true, false, std::string(op) != "empty"});
      cases.push_back({op, {}, {{"size", {0, 4}}, {"dtype", from}}, true, false, std::string(op) != "empty"});
    }
    cases.push_back({"full", {}, {{"size", {3, 4}}, {"fill_value", 2.5}, {"dtype", from}}, true});
  }
  cases.push_back({"full", {}, {{"size", {2, 3}}, {"fill_value", 2.5}}, true});
  cases.push_back({"full", {}, {{"size", {2, 3}}, {"fill_value", 7}}, true});
  cases.push_back({"full", {}, {{"size", {2, 3}}, {"fill_value", true}}, true});
  cases.push_back({"zeros", {}, {{"size", std::vector<int64_t>{}}}, true});
  return cases;
}

// The view ops register one kernel for every device; their outputs must read back the same.
std::vector<Case> view_cases() {
  uint64_t seed = 5000;
  auto x = [&] { return transposed({3, 5, 4}, DType::Float32, seed++); };
  auto c = [&] { return contiguous({3, 5, 4}, DType::Int64, seed++); };
  return {
      {"view", {c()}, {{"size", {5, -1}}}},
      {"reshape", {x()}, {{"shape", {-1, 4}}}},
      {"reshape", {c()}, {{"shape", {60}}}},
      {"permute", {x()}, {{"dims", {2, 0, 1}}}},
      {"transpose", {c()}, {{"dim0", 0}, {"dim1", 2}}},
      {"expand", {contiguous({3, 1, 4}, DType::Float64, seed++)}, {{"size", {2, 3, 5, 4}}}},
      {"squeeze", {contiguous({3, 1, 4, 1}, DType::Int32, seed++)}, {}},
      {"unsqueeze", {x()}, {{"dim", 1}}},
      {"flatten", {x()}, {{"start_dim", 1}}},
      {"narrow", {x()}, {{"dim", 1}, {"start", 1}, {"length", 3}}},
      {"slice", {c()}, {{"dim", 2}, {"start", 1}, {"step", 2}}},
      {"select", {x()}, {{"dim", -1}, {"index", 2}}},
      {"as_strided", {c()}, {{"size", {4, 3}}, {"stride", {1, 5}}, {"storage_offset", 2}}},
      {"alias", {x()}, {}},
  };
}

std::vector<Case> copy_and_factory_and_view_cases() {
  std::vector<Case> cases = copy_and_factory_cases();
  for (Case& c : view_cases()) cases.push_back(std::move(c));
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(elementwise, elementwise_cases);
TERRA_CUDA_CASES(copy_factory_view, copy_and_factory_and_view_cases);
TERRA_CUDA_OWN_TESTS(transfer, "to_device");

// ---- Without a device ----

TEST_CASE("cuda device probe", "[cuda][device]") {
  if (cuda::is_available()) {
    CHECK(cuda::is_built());
    CHECK(cuda::device_count() >= 1);
    cuda::DeviceInfo info = cuda::device_info(0);
    CHECK(!info.name.empty());
    CHECK(info.major >= 7);
    CHECK(info.total_memory > 0);
    CHECK(has_allocator(DeviceType::CUDA));
    WARN("CUDA device 0: " << info.name << ", compute capability " << info.major << "." << info.minor);
    return;
  }
  CHECK(cuda::device_count() == 0);
  CHECK(cuda::is_built() == bool(TERRA_WITH_CUDA));
  CHECK(!cuda::unavailable_reason().empty());
  WARN("no CUDA device (" << cuda::unavailable_reason() << ")");
  // Without a device no allocator is registered, and asking for one says why.
  CHECK_FALSE(has_allocator(DeviceType::CUDA));
  require_error([] { allocator_for(DeviceType::CUDA); }, ErrorKind::Runtime, {"no allocator", "cuda"});
  require_error([] { cuda::device_info(0); }, ErrorKind::Runtime, {"CUDA device 0"});
}

TEST_CASE("without a device, putting a tensor there is a clear error", "[cuda][device]") {
  Tensor x = random_tensor({2, 3}, DType::Float32, 1);
  CHECK(to(x, kCpu).is_same(x));
  if (cuda::is_available()) return;
  const char* why = TERRA_WITH_CUDA ? "no CUDA device" : "Terra was built without CUDA";
  require_error([&] { to(x, kCuda); }, ErrorKind::Runtime, {"to_device", "cannot use device cuda:0", why});
  require_error([&] { call1("zeros", {}, {{"size", {2}}, {"device", kCuda}}); },
                TERRA_WITH_CUDA ? ErrorKind::Runtime : ErrorKind::NotImplemented, {"zeros", "cuda"});
}

TEST_CASE("every op with a CUDA kernel has a CPU kernel and a CUDA test", "[cuda][registry]") {
  std::set<std::string> tested(own_tests().begin(), own_tests().end());
  for (const CaseTable& table : case_tables())
    for (const Case& c : table.make()) tested.insert(c.op);
  size_t with_cuda = 0;
  for (const OpDef* op : Registry::instance().all()) {
    if (!op->kernel(DeviceType::CUDA)) continue;
    INFO(op->name());
    with_cuda++;
    CHECK(op->kernel(DeviceType::CPU) != nullptr);
    // A device-generic kernel (views, to_device, composites written with other ops) is the same
    // function on both devices and is covered by the rows of what it calls; a CUDA-specific
    // kernel needs its own row.
    if (op->kernel(DeviceType::CUDA) != op->kernel(DeviceType::CPU)) CHECK(tested.count(op->name()) == 1);
  }
  // The views and to_device register for CUDA in every build; the elementwise kernels with CUDA.
  CHECK(with_cuda >= (TERRA_WITH_CUDA ? 70u : 14u));
}

// ---- With a device ----

TEST_CASE("CUDA kernels match the CPU kernels", "[cuda][kernels]") {
  if (!have_device("the CUDA kernels against the CPU kernels")) return;
  for (const CaseTable& table : case_tables()) {
    INFO("table " << table.family);
    for (const Case& c : table.make()) check_case(c);
  }
}

TEST_CASE("CUDA elementwise kernels over more elements than one grid covers", "[cuda][kernels]") {
  if (!have_device("the large elementwise launches")) return;
  // 2^24 + 3 elements: more than 65536 blocks of 256 threads, so the grid-stride loops wrap.
  const int64_t n = (int64_t(1) << 24) + 3;
  Tensor a = call1("ones", {}, {{"size", {n}}});
  Tensor b = call1("full", {}, {{"size", {n}}, {"fill_value", 2.0}});
  Tensor da = to(a, kCuda), db = to(b, kCuda);
  Tensor sum = to(call1("add", {da, db}, {{"alpha", 3}}), kCpu);
  const float* p = sum.data<float>();
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += p[i] != 7.0f;
  CHECK(bad == 0);
  // A 2-d strided pattern of the same size goes through the n-d kernel.
  Tensor m = call1("narrow", {da}, {{"dim", 0}, {"start", 0}, {"length", (n / 8) * 8}});
  Tensor tm = call1("transpose", {call1("view", {m}, {{"size", {n / 8, 8}}})}, {{"dim0", 0}, {"dim1", 1}});
  Tensor neg = to(call1("neg", {tm}), kCpu);
  CHECK(neg.shape() == Shape{8, n / 8});
  const float* q = neg.data<float>();
  bad = 0;
  for (int64_t i = 0; i < neg.numel(); ++i) bad += q[i] != -1.0f;
  CHECK(bad == 0);
}

TEST_CASE("to_device round trips", "[cuda][transfer]") {
  if (!have_device("the to_device round trips")) return;
  uint64_t seed = 1;
  for (DType dt : kAllDTypes) {
    for (const Shape& shape : {Shape{4, 5, 6}, Shape{}, Shape{0, 3}, Shape{1}}) {
      INFO(dtype_name(dt) << shape_str(shape));
      Tensor x = random_tensor(shape, dt, seed++, -9, 9);
      for (Tensor src : {x, transposed_copy(x), strided_copy(x)}) {
        for (bool non_blocking : {false, true}) {
          Tensor d = to(src, kCuda, non_blocking);
          CHECK(d.device() == kCuda);
          CHECK(d.is_contiguous());
          CHECK(d.shape() == src.shape());
          CHECK(d.dtype() == dt);
          CHECK(to(d, kCuda).is_same(d));  // already there
          Tensor back = to(d, kCpu, non_blocking);
          CHECK(back.device() == kCpu);
          CHECK(values(back) == values(src));
          // From a strided device view back to the CPU.
          if (d.dim() >= 2) {
            Tensor dt_view = call1("transpose", {d}, {{"dim0", 0}, {"dim1", 1}});
            Tensor ht_view = call1("transpose", {src}, {{"dim0", 0}, {"dim1", 1}});
            CHECK(values(to(dt_view, kCpu)) == values(ht_view));
          }
        }
      }
    }
  }
  Tensor x = random_tensor({3}, DType::Float32, 7);
  require_error([&] { to(x, Device{DeviceType::CUDA, 1}); },
                cuda::device_count() > 1 ? ErrorKind::NotImplemented : ErrorKind::Runtime, {"to_device", "cuda:1"});
  require_error([&] { call1("add", {to(x, kCuda), x}); }, ErrorKind::Runtime,
                {"add", "Expected all tensors to be on the same device"});
}

TEST_CASE("pinned memory and non_blocking copies", "[cuda][transfer]") {
  int local = 0;
  CHECK_FALSE(cuda::is_pinned(&local));
  if (!cuda::is_available()) {
    require_error([] { cuda::pinned_allocate(16); }, ErrorKind::Runtime, {"cannot pin memory"});
    CHECK(cuda::pinned_stats().reserved == 0);
  }
  if (!have_device("pinned memory")) return;
  auto* p = static_cast<float*>(cuda::pinned_allocate(4000 * sizeof(float)));
  CHECK(cuda::is_pinned(p));
  CHECK(cuda::is_pinned(p + 3999));
  for (int i = 0; i < 4000; ++i) p[i] = float(i) * 0.5f;
  Tensor d = call1("empty", {}, {{"size", {4000}}, {"device", kCuda}});
  cuda::copy_bytes(d.raw_data(), kCuda, p, kCpu, 4000 * sizeof(float), true);
  cuda::pinned_free(p);  // the copy may be in flight: the block waits for it
  // Pageable sources, non_blocking: staged through pinned blocks, freed at once by the caller.
  std::vector<Tensor> copies;
  for (int round = 0; round < 8; ++round) {
    std::vector<float> host(4000, float(round));
    Tensor dst = call1("empty", {}, {{"size", {4000}}, {"device", kCuda}});
    cuda::copy_bytes(dst.raw_data(), kCuda, host.data(), kCpu, host.size() * sizeof(float), true);
    copies.push_back(dst);
  }
  cuda::synchronize();
  std::vector<float> back(4000);
  cuda::copy_bytes(back.data(), kCpu, d.raw_data(), kCuda, 4000 * sizeof(float), false);
  for (int i = 0; i < 4000; ++i) REQUIRE(back[i] == float(i) * 0.5f);
  for (int round = 0; round < 8; ++round) {
    cuda::copy_bytes(back.data(), kCpu, copies[round].raw_data(), kCuda, 4000 * sizeof(float), false);
    for (float v : back) REQUIRE(v == float(round));
  }
  CHECK(cuda::pinned_stats().reserved > 0);
}

TEST_CASE("cuda allocator: reuse and statistics", "[cuda][allocator]") {
  if (!have_device("the CUDA allocator's statistics")) return;
#if TERRA_WITH_CUDA
  // The block logic is tested with a fake backend (test_block_pool.cpp); this is cudaMalloc's.
  constexpr size_t MiB = size_t(1) << 20;
  CudaCachingAllocator a;
  void* p = a.allocate(1000);
  REQUIRE(p != nullptr);
  MemoryStats s = a.stats();
  CHECK(s.in_use == 1024);
  CHECK(s.peak == 1024);
  CHECK(s.reserved == 2 * MiB);  // one small segment
  CHECK(s.cached == 2 * MiB - 1024);
  CHECK(s.allocations == 1);
  a.deallocate(p, 1000);
  CHECK(a.stats().in_use == 0);
  void* q = a.allocate(900);  // the same segment, the same place
  CHECK(q == p);
  CHECK(a.stats().cache_hits == 1);
  void* big = a.allocate(3 << 20);
  CHECK(a.stats().in_use == 1024 + (3 << 20));
  CHECK(a.stats().reserved == 22 * MiB);
  {  // A block split off a segment is real device memory: a round trip through it.
    std::vector<int32_t> in(1000), out(1000, 0);
    for (size_t i = 0; i < in.size(); ++i) in[i] = int32_t(i * 7 + 1);
    char* tail = static_cast<char*>(big) + (1 << 20);
    cuda::copy_bytes(tail, kCuda, in.data(), kCpu, in.size() * 4, false);
    cuda::copy_bytes(out.data(), kCpu, tail, kCuda, out.size() * 4, false);
    CHECK(out == in);
  }
  a.deallocate(big, 3 << 20);
  a.deallocate(q, 900);
  CHECK(a.stats().in_use == 0);
  CHECK(a.stats().peak == 1024 + (3 << 20));
  a.empty_cache();
  CHECK(a.stats().cached == 0);
  CHECK(a.stats().reserved == 0);
  a.reset_peak();
  CHECK(a.stats().peak == 0);

  // Tensors give their blocks back to the registered allocator.
  Allocator& registered = allocator_for(DeviceType::CUDA);
  const size_t before = registered.stats().in_use;
  {
    Tensor t = call1("zeros", {}, {{"size", {256, 256}}, {"device", kCuda}});
    CHECK(registered.stats().in_use >= before + 256 * 256 * 4);
  }
  CHECK(registered.stats().in_use == before);
#endif
}

TEST_CASE("cuda allocator: out of memory is an error naming the bytes", "[cuda][allocator]") {
  if (!have_device("the CUDA out-of-memory error")) return;
  Allocator& a = allocator_for(DeviceType::CUDA);
  const size_t absurd = size_t(1) << 50;  // 1 PiB
  require_error([&] { a.allocate(absurd); }, ErrorKind::OutOfMemory, {"CUDA out of memory", std::to_string(absurd)});
  require_error([&] { call1("empty", {}, {{"size", {int64_t(1) << 48}}, {"device", kCuda}}); }, ErrorKind::OutOfMemory,
                {"CUDA out of memory", std::to_string(size_t(1) << 50)});
  // The failure leaves CUDA usable.
  Tensor x = to(random_tensor({8}, DType::Float32, 3), kCuda);
  CHECK(values(to(call1("mul", {x, x}), kCpu)).size() == 8);
}
