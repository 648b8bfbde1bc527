// A test-side Program builder: each op is run eagerly once, through the dispatcher, which gives the
// exact output metas and aliasing for the Step it emits and the reference results (eager execution
// is the executor's oracle). Buffers follow storages: a new storage is a new Internal buffer, a
// bound tensor's storage a Bound one; keep() turns a result's buffer into a Kept slot. It does not
// depend on Catch2, so tools/bench/graph_bench.cpp builds its programs with it too.
#pragma once
#include <map>

#include "engine/dispatch/dispatcher.hpp"
#include "engine/graph/compile.hpp"
#include "engine/graph/executor.hpp"

namespace terra::test {

class GraphBuilder {
 public:
  graph::Program program;
  std::vector<Tensor> eager;    // per value: the eager tensor (later in-place writes show in it)
  std::vector<Tensor> initial;  // per bound input: its contents before any op ran

  int bind(const Tensor& t) {
    TERRA_ASSERT(program.steps.empty());
    const int v = add_value(t, -1);
    program.values[v].bound = v;
    program.num_bound = v + 1;
    initial.push_back(t.is_wrapped_number() ? t : call1("clone", {t}));
    return v;
  }

  std::vector<int> op(const std::string& name, const std::vector<int>& inputs, const NamedAttrs& attrs = {},
                      trace::CallForm form = trace::CallForm::Functional, size_t num_out = 0) {
    const OpDef& def = Registry::instance().get(name);
    graph::Step step{&def, form, make_attrs(def, attrs), inputs, {}, static_cast<int>(program.steps.size()), 0};
    std::vector<Tensor> ins;
    for (int in : inputs) ins.push_back(in >= 0 ? eager[in] : Tensor());
    std::vector<Tensor> results;
    if (form == trace::CallForm::Functional) {
      results = dispatch(def, ins, step.attrs);
    } else if (form == trace::CallForm::InPlace) {
      results = {dispatch_inplace(def, ins, step.attrs)};
    } else {
      std::vector<Tensor> outs(ins.end() - static_cast<long>(num_out), ins.end());
      dispatch_out(def, std::vector<Tensor>(ins.begin(), ins.end() - static_cast<long>(num_out)), step.attrs, outs);
      results = outs;
    }
    const int s = static_cast<int>(program.steps.size());
    for (const Tensor& r : results) step.outputs.push_back(add_value(r, s));
    program.steps.push_back(std::move(step));
    return program.steps.back().outputs;
  }
  int op1(const std::string& name, const std::vector<int>& inputs, const NamedAttrs& attrs = {}) {
    return op(name, inputs, attrs).at(0);
  }
  int inplace(const std::string& name, const std::vector<int>& inputs, const NamedAttrs& attrs = {}) {
    return op(name, inputs, attrs, trace::CallForm::InPlace).at(0);
  }

  // Python still holds value v: its buffer becomes the next Kept slot.
  void keep(int v) {
    graph::Buffer& b = program.buffers[program.values[v].buffer];
    TERRA_ASSERT(b.kind == graph::BufferKind::Internal);
    b.kind = graph::BufferKind::Kept;
    b.index = program.num_kept++;
    kept_values.push_back(v);
  }

  // One run of a plan on fresh copies of the bound inputs and fresh pending kept storages.
  struct Outcome {
    std::vector<Tensor> bound;
    std::vector<Storage> kept;
  };
  Outcome run(graph::CompiledPlan& plan) const {
    Outcome o;
    for (const Tensor& t : initial) o.bound.push_back(t.is_wrapped_number() ? t : call1("clone", {t}));
    for (const graph::Buffer& b : program.buffers)
      if (b.kind == graph::BufferKind::Kept) o.kept.push_back(nullptr);
    for (const graph::Buffer& b : program.buffers)
      if (b.kind == graph::BufferKind::Kept)
        o.kept[b.index] = std::make_shared<StorageImpl>(b.nbytes, b.device, StorageImpl::Deferred{});
    graph::run(plan, o.bound, o.kept);
    return o;
  }

  std::vector<int> kept_values;

 private:
  int add_value(const Tensor& t, int producer) {
    const StorageImpl* key = t.storage().get();
    auto it = buffer_of_.find(key);
    if (it == buffer_of_.end()) {
      graph::Buffer b;
      b.kind = producer < 0 ? graph::BufferKind::Bound : graph::BufferKind::Internal;
      b.nbytes = t.storage()->nbytes();
      b.device = t.device();
      b.index = producer < 0 ? static_cast<int>(program.values.size()) : -1;
      it = buffer_of_.emplace(key, static_cast<int>(program.buffers.size())).first;
      program.buffers.push_back(b);
    }
    graph::Value v;
    v.meta = trace::meta_of(t);
    v.buffer = it->second;
    v.producer = producer;
    program.values.push_back(v);
    eager.push_back(t);
    return static_cast<int>(program.values.size()) - 1;
  }
  std::map<const StorageImpl*, int> buffer_of_;
};

}  // namespace terra::test
