// The CUDA random ops (kernels/cuda/random.cu) draw exactly the CPU's values: each call runs on
// both devices from its own generator with the same seed, and the tensors, dropout masks and the
// generators' offsets afterwards must be equal, element for element with no tolerance. The one
// exception is randn in float64, whose log/sqrt/cos/sin the device's math library may round
// differently in the last bit (kernels/common/random_math.hpp); it is compared at 1 ulp-ish.
// Also: a probability outside [0, 1] raises the CPU's error and leaves the generator untouched.
#include "cuda_cases.hpp"

using namespace terra;
using namespace terra::test;

namespace {

struct RandomCase {
  std::string op;
  std::vector<Input> inputs;
  NamedAttrs attrs;
  bool factory;
  double rtol = 0.0;
};

std::vector<RandomCase> random_cases() {
  std::vector<RandomCase> cases;
  uint64_t seed = 50000;
  for (const Shape& shape : {Shape{1001}, Shape{3, 7, 5}, Shape{}, Shape{0, 4}}) {
    const std::vector<int64_t> size(shape.begin(), shape.end());
    for (DType dt : {DType::Float32, DType::Float64}) {
      cases.push_back({"rand", {}, {{"size", size}, {"dtype", dt}}, true});
      cases.push_back({"randn", {}, {{"size", size}, {"dtype", dt}}, true, dt == DType::Float64 ? 1e-15 : 0.0});
      cases.push_back({"bernoulli", {contiguous(shape, dt, seed++, 0, 1)}, {}, false});
      cases.push_back({"bernoulli_p", {contiguous(shape, dt, seed++)}, {{"p", 0.3}}, false});
      for (double p : {0.0, 0.25, 0.5, 1.0})
        cases.push_back({"dropout", {contiguous(shape, dt, seed++)}, {{"p", p}}, false});
      cases.push_back({"dropout", {contiguous(shape, dt, seed++)}, {{"p", 0.5}, {"train", false}}, false});
    }
    for (DType dt : kAllDTypes) {
      const DType int_dt = dt == DType::Bool ? DType::Int64 : dt;
      cases.push_back({"randint", {}, {{"low", -5}, {"high", 1000}, {"size", size}, {"dtype", int_dt}}, true});
      cases.push_back({"bernoulli_p", {contiguous(shape, dt, seed++)}, {{"p", 0.7}}, false});
    }
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    cases.push_back({"bernoulli", {transposed({6, 9}, dt, seed++, 0, 1)}, {}, false});
    cases.push_back({"dropout", {transposed({6, 9}, dt, seed++)}, {{"p", 0.4}}, false});
    cases.push_back({"dropout", {expanded({6, 9}, dt, seed++)}, {{"p", 0.6}}, false});
  }
  cases.push_back({"randint", {}, {{"low", int64_t{-4611686018427387904}}, {"high", int64_t{4611686018427387904}},
                                   {"size", {500}}}, true});
  for (int64_t n : {0, 1, 17, 5000}) cases.push_back({"randperm", {}, {{"n", n}}, true});
  cases.push_back({"randperm", {}, {{"n", 300}, {"dtype", DType::Float32}}, true});
  return cases;
}

// The call on one device, from a fresh generator seeded with `seed`; the generator's offset after.
std::pair<std::vector<Tensor>, uint64_t> run_on(const RandomCase& c, Device device, uint64_t seed) {
  auto gen = std::make_shared<Generator>(seed);
  NamedAttrs attrs = c.attrs;
  attrs.push_back({"generator", gen});
  std::vector<Tensor> inputs;
  for (const Input& in : c.inputs) {
    Tensor base = device == kCpu ? in.base : to(in.base, device);
    inputs.push_back(in.view ? in.view(base) : base);
  }
  if (c.factory && device != kCpu) attrs.push_back({"device", device});
  std::vector<Tensor> out = call(c.op, inputs, attrs);
  return {out, gen->offset()};
}

}  // namespace

TERRA_CUDA_OWN_TESTS(random, "rand", "randn", "randint", "randperm", "bernoulli", "bernoulli_p", "dropout");

TEST_CASE("CUDA random ops draw the CPU's values for the same seed", "[cuda][random]") {
  if (!have_device("the CUDA random ops against the CPU's")) return;
  uint64_t seed = 11;
  for (const RandomCase& c : random_cases()) {
    Case label{c.op, c.inputs, c.attrs};
    INFO(label.label());
    const auto [cpu, cpu_offset] = run_on(c, kCpu, seed);
    const auto [dev, dev_offset] = run_on(c, kCuda, seed);
    seed++;
    CHECK(dev_offset == cpu_offset);
    REQUIRE(dev.size() == cpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      REQUIRE(dev[i].device() == kCuda);
      REQUIRE(dev[i].shape() == cpu[i].shape());
      REQUIRE(dev[i].dtype() == cpu[i].dtype());
      check_values(to(dev[i], kCpu), values(cpu[i]), c.rtol, 0.0);
    }
  }
}

TEST_CASE("CUDA bernoulli refuses probabilities outside [0, 1] as the CPU does", "[cuda][random]") {
  if (!have_device("the CUDA bernoulli error")) return;
  const Tensor probs = from_values({0.5, 1.5, 0.2}, {3}, DType::Float32);
  for (Device d : {kCpu, kCuda}) {
    auto gen = std::make_shared<Generator>(3);
    require_error([&] { call1("bernoulli", {to(probs, d)}, {{"generator", gen}}); }, ErrorKind::Runtime,
                  {"Expected p_in >= 0 && p_in <= 1"});
    CHECK(gen->offset() == 0);
  }
}

// Without a device: every row is a valid CPU call, and two runs from the same seed agree (the
// property the device comparison relies on).
TEST_CASE("the CUDA random case table is valid and reproducible on the CPU", "[cuda][random]") {
  for (const RandomCase& c : random_cases()) {
    Case label{c.op, c.inputs, c.attrs};
    INFO(label.label());
    const auto [first, first_offset] = run_on(c, kCpu, 5);
    const auto [second, second_offset] = run_on(c, kCpu, 5);
    CHECK(first_offset == second_offset);
    REQUIRE(first.size() == second.size());
    for (size_t i = 0; i < first.size(); ++i) CHECK(values(first[i]) == values(second[i]));
  }
}
