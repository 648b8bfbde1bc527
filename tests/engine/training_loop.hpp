// What the tracing-session tests (tests/engine) and the graph actor's (tests/actors) share: location
// keys the test sets by hand (as Python's frames would give them), a session for a test's scope, a
// small training loop (Linear + tanh layers, a mean squared error, backward, SGD with a learning
// rate that changes every step) run the same way eagerly and under a session, and comparisons; and
// an embedding program one of whose iterations makes the kernel raise (an index out of range).
#pragma once
#include <exception>
#include <functional>
#include <memory>

#include "../helpers.hpp"
#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/backward.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/trace/session.hpp"
#include "engine/trace/span_job.hpp"

namespace terra::test {

// Location keys as the Python frames would give them: the test says which "line" it is on.
inline thread_local uint64_t current_line = 0;
inline trace::Location test_location() { return {current_line, false}; }
inline void at(uint64_t line) { current_line = line; }

inline trace::Options session_options(bool fusion) {
  trace::Options o;
  o.fusion = fusion;
  return o;
}

// A tracing session on this thread for a scope. stop() ends it early and raises what its last sync
// raises; the destructor stops a session still open and fails the test if that raises.
class Session {
 public:
  explicit Session(const trace::Options& options, std::shared_ptr<trace::SpanExecutor> executor = nullptr) {
    trace::set_location_provider(&test_location);
    trace::start(options, std::move(executor));
  }
  explicit Session(bool fusion) : Session(session_options(fusion)) {}
  ~Session() {
    try {
      stop();
    } catch (const std::exception& e) {
      if (std::uncaught_exceptions() == 0) FAIL_CHECK("trace::stop() raised: " << e.what());
    }
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    struct Unset {
      ~Unset() { trace::set_location_provider(nullptr); }
    } unset;
    trace::stop();
  }

 private:
  bool stopped_ = false;
};

// A value against eager's: equal when rtol is 0 (fusion off), else within rtol (1e-7 absolute floor).
inline void check_close(double got, double eager, double rtol) {
  if (rtol == 0)
    CHECK(got == eager);
  else
    CHECK(got == Approx(eager).epsilon(rtol).margin(1e-7));
}

// Every element of a tensor, as check_close.
inline void require_close(const Tensor& eager, const Tensor& other, double rtol, const char* name) {
  std::vector<double> e = values(eager), r = values(other);
  REQUIRE(e.size() == r.size());
  for (size_t i = 0; i < e.size(); ++i) {
    INFO(name << "[" << i << "]");
    check_close(r[i], e[i], rtol);
  }
}

inline void require_close(const std::vector<Tensor>& eager, const std::vector<Tensor>& other, double rtol) {
  REQUIRE(eager.size() == other.size());
  for (size_t p = 0; p < eager.size(); ++p) {
    const std::string name = "parameter " + std::to_string(p);
    require_close(eager[p], other[p], rtol, name.c_str());
  }
}

// A few Linear + tanh layers: parameters {w0, b0, w1, b1, ...}, random and never all zero.
struct Mlp {
  std::vector<Tensor> params;
  static Mlp make(uint64_t seed, const std::vector<int64_t>& widths = {8, 16, 12, 4}) {
    Mlp m;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      m.params.push_back(random_tensor({widths[l], widths[l + 1]}, DType::Float32, seed + 2 * l, -0.5, 0.5));
      m.params.push_back(random_tensor({widths[l + 1]}, DType::Float32, seed + 2 * l + 1, -0.5, 0.5));
    }
    for (const Tensor& p : m.params) autograd::set_requires_grad(p, true);
    return m;
  }
  int64_t in_features() const { return params.front().shape()[0]; }
  int64_t out_features() const { return params.back().shape()[0]; }
  // Copies of the parameters' current values (read after every deferred write to them).
  std::vector<Tensor> snapshot() const {
    std::vector<Tensor> copies;
    for (const Tensor& p : params) copies.push_back(from_values(values(p), p.shape(), p.dtype()));
    return copies;
  }
};

// Where a step calls StepPlan::between, and with what it just made: after each layer (index: the
// layer; its activation), after the loss (the loss), after backward (the loss), after each
// parameter's update (index: the parameter; the parameter).
enum class Point { Layer, Loss, Backward, Update };
using Between = std::function<void(Point, int index, const Tensor& made)>;

// What one step does besides the usual.
struct StepPlan {
  bool read_loss = false;  // loss.item() before backward: a fetch in the middle of the iteration
  int detour_layer = -1;   // that layer's activation is sigmoid instead of tanh, on the same line
  Between between;         // called between op calls (observe, read, schedule, throw)
};

struct StepResult {
  Tensor loss;       // deferred under a session until something reads it
  double read = 0;   // the loss as read mid-iteration (read_loss)
};

// The SGD update of every parameter, then its gradient dropped (the optimizer's zero_grad).
inline void sgd_step(const std::vector<Tensor>& params, int iteration, uint64_t first_line,
                     const Between& between = {}) {
  GradModeGuard no_grad(false);
  for (size_t i = 0; i < params.size(); ++i) {
    at(first_line + i);
    // A learning rate that changes every step: a runtime attribute, bound per run.
    call_inplace("add", {params[i], autograd::grad(params[i])}, {{"alpha", -0.1 / (1 + 0.1 * iteration)}});
    autograd::set_grad(params[i], Tensor());
    if (between) between(Point::Update, static_cast<int>(i), params[i]);
  }
}

// mean((h - y)^2), on lines first_line, first_line + 1.
inline Tensor mse(const Tensor& h, const Tensor& y, uint64_t first_line) {
  at(first_line);
  Tensor d = call1("sub", {h, y});
  at(first_line + 1);
  return call1("mean", {call1("mul", {d, d})});
}

// This iteration's batch: inputs and targets drawn from `iteration`.
inline Tensor batch_inputs(const Mlp& m, int iteration) {
  return random_tensor({16, m.in_features()}, DType::Float32, 1000 + iteration);
}
inline Tensor batch_targets(const Mlp& m, int iteration) {
  return random_tensor({16, m.out_features()}, DType::Float32, 2000 + iteration, -0.9, 0.9);
}

// One training step on the batch (x, y); `iteration` sets the learning rate.
inline StepResult train_step_on(Mlp& m, const Tensor& x, const Tensor& y, int iteration, const StepPlan& plan = {}) {
  auto between = [&](Point p, int index, const Tensor& made) {
    if (plan.between) plan.between(p, index, made);
  };
  Tensor h = x;
  const int layers = static_cast<int>(m.params.size() / 2);
  for (int l = 0; l < layers; ++l) {
    at(10 + 3 * l);
    h = call1("matmul", {h, m.params[2 * l]});
    at(11 + 3 * l);
    h = call1("add", {h, m.params[2 * l + 1]});
    at(12 + 3 * l);
    h = call1(l == plan.detour_layer ? "sigmoid" : "tanh", {h});
    between(Point::Layer, l, h);
  }
  StepResult r;
  r.loss = mse(h, y, 60);
  between(Point::Loss, 0, r.loss);
  if (plan.read_loss) r.read = get(r.loss, 0);
  at(70);
  autograd::backward({r.loss}, {}, false, false);
  between(Point::Backward, 0, r.loss);
  sgd_step(m.params, iteration, 80, plan.between);
  return r;
}

// One training step on this iteration's batch.
inline StepResult train_step(Mlp& m, int iteration, const StepPlan& plan = {}) {
  Tensor x = batch_inputs(m, iteration);  // x first, as a program would make them
  return train_step_on(m, x, batch_targets(m, iteration), iteration, plan);
}

// Thrown by the "program" between two op calls (Python's KeyboardInterrupt, or its own exception).
struct Interrupt {};

// 16 steps of the loop (iterations under a session) where steps 6 and 11 throw an Interrupt between
// two parameters' updates; the program catches it and goes on, or stops at the first.
inline void run_interrupted(Mlp& model, bool session, bool goes_on) {
  for (int i = 0; i < 16; ++i) {
    StepPlan plan;
    if (i == 6 || i == 11)
      plan.between = [i](Point p, int index, const Tensor&) {
        if (p == Point::Update && index == (i == 6 ? 1 : 3)) throw Interrupt{};
      };
    if (session) trace::begin_iteration();
    try {
      train_step(model, i, plan);
    } catch (const Interrupt&) {
      if (!goes_on) return;
    }
    if (session) trace::end_iteration();
  }
}

// The loop run eagerly, without a session: every loss, and the parameters after each step.
struct EagerRun {
  Mlp model;
  std::vector<double> losses;
  std::vector<std::vector<Tensor>> params_after;  // [i]: after step i
};
// The model is Mlp::make(7, widths), as the tests' co-executed runs make it.
inline EagerRun run_eagerly(int iterations, const std::function<StepPlan(int)>& plan_for = {},
                            const std::vector<int64_t>& widths = {8, 16, 12, 4}) {
  REQUIRE_FALSE(trace::active());
  EagerRun r{Mlp::make(7, widths), {}, {}};
  for (int i = 0; i < iterations; ++i) {
    r.losses.push_back(get(train_step(r.model, i, plan_for ? plan_for(i) : StepPlan{}).loss, 0));
    r.params_after.push_back(r.model.snapshot());
  }
  return r;
}

// An embedding in front of one Linear + tanh layer: params {table [10, 8], w [8, 4], b [4]}. The
// index of one iteration is out of range, which only the kernel finds: the shape rule cannot see
// index values, and the index is computed by deferred work (an add), so the check that runs at
// the call when the values are on the host (Note [Checks at the call]) cannot read them either.
inline constexpr int64_t kEmbeddingRows = 10;
inline std::vector<Tensor> embedding_params() {
  std::vector<Tensor> params{random_tensor({kEmbeddingRows, 8}, DType::Float32, 31),
                             random_tensor({8, 4}, DType::Float32, 32, -0.5, 0.5),
                             random_tensor({4}, DType::Float32, 33, -0.5, 0.5)};
  for (const Tensor& p : params) autograd::set_requires_grad(p, true);
  return params;
}

inline Tensor embedding_step(const std::vector<Tensor>& params, int iteration, bool bad_index) {
  Tensor index = random_tensor({16}, DType::Int64, 3000 + iteration, 0, kEmbeddingRows - 1);
  if (bad_index) index.data<int64_t>()[5] = kEmbeddingRows;
  Tensor y = random_tensor({16, 4}, DType::Float32, 4000 + iteration, -0.9, 0.9);
  at(1);
  index = call1("add", {index, Tensor::wrap_scalar(0, DType::Int64)});
  Tensor h = call1("embedding", {params[0], index});
  at(2);
  h = call1("tanh", {call1("add", {call1("matmul", {h, params[1]}), params[2]})});
  Tensor loss = mse(h, y, 3);
  at(5);
  autograd::backward({loss}, {}, false, false);
  sgd_step(params, iteration, 6);
  return loss;
}

// Eagerly: the parameters when iteration `bad` raises.
inline std::vector<Tensor> eager_until_error(int bad) {
  std::vector<Tensor> params = embedding_params();
  for (int i = 0; i < bad; ++i) embedding_step(params, i, false);
  try {
    embedding_step(params, bad, true);
    FAIL("eager embedding took an index out of range");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("embedding") != std::string::npos);
  }
  std::vector<Tensor> copies;
  for (const Tensor& p : params) copies.push_back(from_values(values(p), p.shape(), p.dtype()));
  return copies;
}

// The kernel's error, naming the op, as a terra::Error of the kind eager execution raises.
template <class F>
void require_embedding_error(F&& body) {
  require_error(body, ErrorKind::Index, {"embedding: index out of range"});
}

}  // namespace terra::test
