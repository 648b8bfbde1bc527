// bench_ops: times Terra's ops through the dispatcher against the machine's own limits -- a
// direct cblas_sgemm call for matmul, memcpy's bandwidth for elementwise add -- and times ops
// other families provide (softmax, layer_norm, conv2d), found by name in the registry at run
// time so this program builds before they exist. Not a test; run_ops.py runs it beside
// torch_ops.py and writes RESULTS.md (see README.md).
//
// Method, shared with torch_ops.py: an untimed call, a timed one that sets the inner loop count
// so one repetition lasts at least --min-rep-ms; --warmup repetitions, then --reps timed ones (fewer for
// ops so slow that the reps would pass --max-seconds); the per-call median, min and max.
// Output: one tab-separated line per measurement, "name  median_us  min_us  max_us", or
// "name  skip  reason".
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "engine/dispatch/dispatcher.hpp"
#include "kernels/cpu/parallel.hpp"

namespace {

using namespace terra;

struct Options {
  int threads = 0;  // 0: Terra's default (TERRA_NUM_THREADS or the core count)
  int reps = 51;
  int warmup = 3;
  double min_rep_ms = 0.5;
  double max_seconds = 8;
};

struct Stats {
  double median_us, min_us, max_us;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Times each function as the file comment says. Several functions (Terra and its reference) have
// their repetitions interleaved, so a change of load on a shared machine hits them alike.
std::vector<Stats> measure(const std::vector<std::function<void()>>& fs, const Options& o) {
  const size_t nf = fs.size();
  std::vector<int> inner(nf);
  int reps = o.reps;
  for (size_t k = 0; k < nf; ++k) {
    fs[k]();
    const auto t0 = std::chrono::steady_clock::now();
    fs[k]();
    const double once = std::max(seconds_since(t0), 1e-9);
    inner[k] = std::max(1, static_cast<int>(std::ceil(o.min_rep_ms * 1e-3 / once)));
    reps = std::max(3, std::min(reps, static_cast<int>(o.max_seconds / (once * inner[k]))));
  }
  for (int r = 0; r < o.warmup; ++r)
    for (size_t k = 0; k < nf; ++k)
      for (int i = 0; i < inner[k]; ++i) fs[k]();
  std::vector<std::vector<double>> us(nf);
  for (int r = 0; r < reps; ++r)
    for (size_t k = 0; k < nf; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < inner[k]; ++i) fs[k]();
      us[k].push_back(seconds_since(t0) * 1e6 / inner[k]);
    }
  std::vector<Stats> out;
  for (auto& v : us) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    out.push_back({n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()});
  }
  return out;
}

void report(const std::string& name, const Stats& s) {
  std::cout << name << "\t" << s.median_us << "\t" << s.min_us << "\t" << s.max_us << std::endl;
}

void skip(const std::string& name, const std::string& why) { std::cout << name << "\tskip\t" << why << std::endl; }

// Uniform values in [-1, 1) from a fixed seed; the same tensors every run.
Tensor random_f32(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  float* p = t.data<float>();
  uint32_t x = seed * 2654435761u + 1;
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    p[i] = static_cast<float>(x >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return t;
}

void bench_matmul(int64_t n, const Options& o) {
  const Tensor a = random_f32({n, n}, 1), b = random_f32({n, n}, 2);
  const Tensor c = Tensor::empty({n, n}, DType::Float32);
  const OpDef& matmul = Registry::instance().get("matmul");
  const Attrs attrs = make_attrs(matmul, {});
  const int ni = static_cast<int>(n);
  const auto s = measure({[&] { dispatch(matmul, {a, b}, attrs); },
                          [&] {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data<float>(),
                                        ni, b.data<float>(), ni, 0.0f, c.data<float>(), ni);
                          }},
                         o);
  report("matmul_" + std::to_string(n), s[0]);
  report("cblas_sgemm_" + std::to_string(n), s[1]);
}

void bench_add(const Options& o) {
  const int64_t n = int64_t{1} << 22;
  const Tensor x = random_f32({n}, 3), y = random_f32({n}, 4);
  const Tensor dst = random_f32({n}, 5);
  const OpDef& add = Registry::instance().get("add");
  const Attrs attrs = make_attrs(add, {});
  const auto s = measure({[&] { dispatch(add, {x, y}, attrs); },
                          [&] { std::memcpy(dst.raw_data(), x.raw_data(), n * sizeof(float)); }},
                         o);
  report("add_4M", s[0]);
  report("memcpy_4M", s[1]);
}

// An op another family provides: looked up by name, so a missing one is reported, not a build error.
void bench_registered(const std::string& name, const std::vector<Tensor>& inputs, const NamedAttrs& named,
                      const Options& o) {
  const OpDef* op = Registry::instance().find(name);
  if (!op) return skip(name, "not registered yet");
  try {
    const Attrs attrs = make_attrs(*op, named);
    report(name, measure({[&] { dispatch(*op, inputs, attrs); }}, o)[0]);
  } catch (const Error& e) {
    skip(name, std::string("error: ") + e.what());
  }
}

int usage() {
  std::cerr << "usage: bench_ops [--threads N] [--reps N] [--warmup N] [--min-rep-ms X] [--max-seconds X]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (arg == "--threads") o.threads = std::atoi(v);
    else if (arg == "--reps") o.reps = std::atoi(v);
    else if (arg == "--warmup") o.warmup = std::atoi(v);
    else if (arg == "--min-rep-ms") o.min_rep_ms = std::atof(v);
    else if (arg == "--max-seconds") o.max_seconds = std::atof(v);
    else return usage();
  }
  if (o.threads > 0) terra::cpu::set_num_threads(o.threads);
  // The direct cblas calls get the same thread count as Terra (Terra's gemm keeps OpenBLAS in step).
  openblas_set_num_threads(terra::cpu::num_threads());
  std::cout << "# threads\t" << terra::cpu::num_threads() << std::endl;

  bench_matmul(1024, o);
  bench_matmul(64, o);
  bench_matmul(1, o);  // next to no arithmetic: the dispatcher's own cost, less exposed to load noise
  bench_add(o);

  const Tensor rows = random_f32({4096, 1024}, 5);
  bench_registered("softmax", {rows}, {{"dim", -1}}, o);
  bench_registered("layer_norm", {rows, random_f32({1024}, 6), random_f32({1024}, 7)},
                   {{"normalized_shape", {1024}}}, o);
  bench_registered("conv2d", {random_f32({32, 64, 56, 56}, 8), random_f32({64, 64, 3, 3}, 9), random_f32({64}, 10)},
                   {{"padding", {1, 1}}}, o);
  return 0;
}
