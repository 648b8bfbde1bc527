// The training loop of tests/engine/training_loop.hpp co-executed on a real GraphActor of its own,
// and its comparison with the same loop run eagerly: what the graph actor's tests share.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "../engine/training_loop.hpp"
#include "actors/graph_actor.hpp"

namespace terra::test {

inline trace::Options coexec_options(bool fusion, int span_ops) {
  trace::Options o = session_options(fusion);
  o.span_ops = span_ops;
  return o;
}

struct Coexecuted {
  std::weak_ptr<actors::GraphActor> actor;
  Mlp model;
  std::vector<Tensor> losses;  // every iteration's, read after stop()
  std::vector<double> reads;   // the losses read mid-iteration
  trace::Stats stats;
};

// The loop co-executed on a GraphActor of its own; `plan_for` as for run_eagerly.
inline Coexecuted run_coexecuted(int iterations, const trace::Options& options,
                                 const std::function<StepPlan(int)>& plan_for,
                                 const std::vector<int64_t>& widths = {8, 16, 12, 4}) {
  Coexecuted r{{}, Mlp::make(7, widths), {}, {}, {}};
  auto actor = std::make_shared<actors::GraphActor>();
  r.actor = actor;
  {
    Session session(options, std::move(actor));
    for (int i = 0; i < iterations; ++i) {
      trace::begin_iteration();
      StepPlan plan = plan_for ? plan_for(i) : StepPlan{};
      StepResult step = train_step(r.model, i, plan);
      trace::end_iteration();
      r.losses.push_back(step.loss);
      if (plan.read_loss) r.reads.push_back(step.read);
    }
    session.stop();
  }
  r.stats = trace::stats();
  return r;
}

inline void require_same(const EagerRun& eager, const Coexecuted& run, double rtol) {
  REQUIRE(run.losses.size() <= eager.losses.size());
  for (size_t i = 0; i < run.losses.size(); ++i) {
    INFO("loss of iteration " << i);
    REQUIRE_FALSE(run.losses[i].storage()->pending());
    check_close(get(run.losses[i], 0), eager.losses[i], rtol);
  }
  require_close(eager.params_after[run.losses.size() - 1], run.model.params, rtol);
}

}  // namespace terra::test
