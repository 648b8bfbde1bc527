// Bitwise ops, shifts, gcd and lcm against int64 references: integer and bool dtypes,
// broadcasting, non-contiguous inputs, shift counts past the width, and the refusal of floats.
#include <functional>
#include <numeric>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
             "gcd", "lcm");

namespace {

struct IntegerCase {
  const char* op;
  std::function<int64_t(int64_t, int64_t)> ref;
  bool takes_bool;
  double lo, hi;  // operands drawn from [lo, hi]; shift counts from [0, 30]
};

int64_t gcd_ref(int64_t a, int64_t b) { return std::gcd(a, b); }
int64_t lcm_ref(int64_t a, int64_t b) { return std::lcm(a, b); }

const std::vector<IntegerCase>& cases() {
  static const std::vector<IntegerCase> c = {
      {"bitwise_and", [](int64_t a, int64_t b) { return a & b; }, true, -1000, 1000},
      {"bitwise_or", [](int64_t a, int64_t b) { return a | b; }, true, -1000, 1000},
      {"bitwise_xor", [](int64_t a, int64_t b) { return a ^ b; }, true, -1000, 1000},
      {"bitwise_left_shift", [](int64_t a, int64_t b) { return a * (int64_t{1} << b); }, false, -1000, 1000},
      {"bitwise_right_shift", [](int64_t a, int64_t b) { return a >> b; }, false, -1000, 1000},
      {"gcd", gcd_ref, false, -60, 60},
      {"lcm", lcm_ref, false, -60, 60},
  };
  return c;
}

bool is_shift(const std::string& op) { return op.find("shift") != std::string::npos; }

}  // namespace

TEST_CASE("bitwise ops, shifts, gcd and lcm match int64 references with broadcasting", "[binary][bitwise]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{5, 7}, {5, 7}}, {{4, 1, 3}, {5, 1}}, {{6}, {}}, {{2, 65}, {65}}};
  uint64_t seed = 300;
  for (const IntegerCase& ic : cases()) {
    for (DType dt : {DType::Int32, DType::Int64, DType::Bool}) {
      if (dt == DType::Bool && !ic.takes_bool) continue;
      for (const auto& [sa, sb] : shapes) {
        INFO(ic.op << " " << dtype_name(dt) << " " << shape_str(sa) << " " << shape_str(sb));
        Tensor a = random_tensor(sa, dt, seed++, ic.lo, ic.hi, false);
        Tensor b = is_shift(ic.op) ? random_tensor(sb, dt, seed++, 0, 30, false) : random_tensor(sb, dt, seed++, ic.lo, ic.hi, false);
        const Shape os = broadcast_shapes(sa, sb);
        const auto va = values(a), vb = values(b);
        std::vector<double> expect(shape_numel(os));
        for (int64_t i = 0; i < shape_numel(os); ++i) {
          const auto x = static_cast<int64_t>(broadcast_at(va, sa, os, i)), y = static_cast<int64_t>(broadcast_at(vb, sb, os, i));
          int64_t r = ic.ref(x, y);
          if (dt == DType::Int32) r = static_cast<int32_t>(r);  // wraps as the int32 kernel does
          expect[i] = static_cast<double>(r);
        }
        for (auto [x, y] : {std::pair{a, b}, std::pair{transposed_copy(a), strided_copy(b)}}) {
          Tensor out = call1(ic.op, {x, y});
          CHECK(out.shape() == os);
          CHECK(out.dtype() == dt);
          CHECK(values(out) == expect);
        }
      }
    }
  }
}

TEST_CASE("bitwise_not flips every bit of integers and negates bools", "[unary][bitwise]") {
  Tensor i = random_tensor({3, 5}, DType::Int64, 41, -100000, 100000, false);
  std::vector<double> flipped;
  for (double v : values(transposed_copy(i))) flipped.push_back(static_cast<double>(~static_cast<int64_t>(v)));
  CHECK(values(call1("bitwise_not", {transposed_copy(i)})) == flipped);
  Tensor flags = from_values({1, 0, 0, 1}, {4}, DType::Bool);
  CHECK(values(call1("bitwise_not", {flags})) == std::vector<double>{0, 1, 1, 0});
}

TEST_CASE("shift counts outside the width leave nothing, or the sign for a right shift", "[binary][bitwise]") {
  Tensor a = from_values({5, -5, 7, -7, 3}, {5}, DType::Int32);
  Tensor counts = from_values({32, 32, -1, 40, 31}, {5}, DType::Int32);
  CHECK(values(call1("bitwise_left_shift", {a, counts})) == std::vector<double>{0, 0, 0, 0, -2147483648.0});
  CHECK(values(call1("bitwise_right_shift", {a, counts})) == std::vector<double>{0, -1, 0, -1, 0});
}

TEST_CASE("bitwise ops refuse floats, and shifts and gcd refuse bools", "[binary][bitwise][errors]") {
  Tensor f = random_tensor({3}, DType::Float32, 51);
  Tensor flags = from_values({1, 0, 1}, {3}, DType::Bool);
  for (const char* op : {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "gcd", "lcm"})
    require_error([&] { call1(op, {f, f}); }, ErrorKind::Runtime, {op, "only supported for integer and bool tensors", "float32"});
  require_error([&] { call1("bitwise_not", {f}); }, ErrorKind::Runtime, {"bitwise_not", "float32"});
  for (const char* op : {"bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm"})
    require_error([&] { call1(op, {flags, flags}); }, ErrorKind::Runtime, {op, "bool"});
}
