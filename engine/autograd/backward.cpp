#include "engine/autograd/backward.hpp"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/trace/hook.hpp"

namespace terra::autograd {

namespace {

struct Capture {
  Node* node;
  uint32_t input_nr;
};

struct Task {
  Node* node;
  bool operator<(const Task& o) const { return node->sequence_nr < o.node->sequence_nr; }
};

Tensor accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return call1("add", {a, b});
}

class GraphTask {
 public:
  GraphTask(bool retain_graph, bool create_graph) : retain_(retain_graph), create_(create_graph) {}

  void add_root(const Edge& e, const Tensor& g) {
    roots_.push_back(e.node);
    auto& buf = buffers_[e.node.get()];
    buf.resize(std::max<size_t>(buf.size(), e.node->num_outputs()));
    buf[e.input_nr] = accumulate(buf[e.input_nr], g);
  }

  // autograd.grad: gradients arriving at these slots are returned instead of accumulated.
  void capture(const std::vector<Edge>& targets) {
    for (const Edge& e : targets) captures_.push_back({e.node.get(), e.input_nr});
    captured_.resize(targets.size());
    capturing_ = true;
  }

  void run() {
    count_dependencies();
    if (capturing_) mark_needed();
    std::priority_queue<Task> ready;
    std::unordered_set<Node*> queued;
    for (const auto& r : roots_)
      if (deps_[r.get()] == 0 && queued.insert(r.get()).second) ready.push({r.get()});
    while (!ready.empty()) {
      Node* node = ready.top().node;
      ready.pop();
      TensorList grads = std::move(buffers_[node]);
      buffers_.erase(node);
      grads.resize(node->num_outputs());
      run_pre_hooks(node, grads);
      TensorList out = execute(node, std::move(grads));
      for (size_t i = 0; i < node->next_edges.size(); ++i) {
        const Edge& e = node->next_edges[i];
        if (!e.valid()) continue;
        Node* next = e.node.get();
        if (i < out.size() && out[i].defined()) {
          auto& buf = buffers_[next];
          buf.resize(std::max<size_t>(buf.size(), next->num_outputs()));
          GradModeGuard mode(create_);
          buf[e.input_nr] = accumulate(buf[e.input_nr], out[i]);
        }
        if (--deps_[next] == 0) ready.push({next});
      }
    }
  }

  const TensorList& captured() const { return captured_; }

 private:
  void count_dependencies() {
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (const auto& r : roots_)
      if (seen.insert(r.get()).second) stack.push_back(r.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.valid()) continue;
        ++deps_[e.node.get()];
        if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
      }
    }
  }

  // A node runs only if a captured slot can be reached from it.
  void mark_needed() {
    std::unordered_map<Node*, int> state;  // 1: visiting, 2: done
    std::vector<std::pair<Node*, size_t>> stack;
    std::unordered_set<Node*> targets;
    for (const Capture& c : captures_) targets.insert(c.node);
    for (const auto& r : roots_) {
      if (state[r.get()]) continue;
      stack.push_back({r.get(), 0});
      state[r.get()] = 1;
      while (!stack.empty()) {
        auto& [n, i] = stack.back();
        if (i < n->next_edges.size()) {
          Node* child = n->next_edges[i++].node.get();
          if (child && !state[child]) {
            state[child] = 1;
            stack.push_back({child, 0});
          }
          continue;
        }
        bool needed = targets.count(n) > 0;
        for (const Edge& e : n->next_edges) needed = needed || (e.valid() && needed_.count(e.node.get()));
        if (needed) needed_.insert(n);
        state[n] = 2;
        stack.pop_back();
      }
    }
  }

  void run_pre_hooks(Node* node, TensorList& grads) {
    for (auto& [slot, hooks] : node->pre_hooks) {
      if (slot >= grads.size() || !grads[slot].defined()) continue;
      for (const GradHook& h : hooks) {
        Tensor replaced = h(grads[slot]);
        if (replaced.defined()) grads[slot] = replaced;
      }
    }
    for (auto& [slot, weak] : node->retained) {
      auto impl = weak.lock();
      if (!impl || slot >= grads.size() || !grads[slot].defined()) continue;
      Tensor t(impl);
      AutogradMeta& m = ensure_meta(t);
      GradModeGuard mode(create_);
      m.grad = m.grad.defined() ? call1("add", {m.grad, grads[slot]}) : (create_ ? grads[slot] : call1("clone", {grads[slot]}));
    }
  }

  TensorList execute(Node* node, TensorList grads) {
    if (capturing_) {
      for (size_t i = 0; i < captures_.size(); ++i)
        if (captures_[i].node == node && captures_[i].input_nr < grads.size())
          captured_[i] = accumulate(captured_[i], grads[captures_[i].input_nr]);
      // autograd.grad never touches .grad, and skips what leads to no captured slot.
      if (dynamic_cast<AccumulateGrad*>(node) || !needed_.count(node)) return {};
    }
    bool any = false;
    for (const Tensor& g : grads) any = any || g.defined();
    if (!any) return {};
    GradModeGuard mode(create_);
    trace::BackwardOf located(node->trace_location);
    TensorList out = node->apply(std::move(grads));
    if (AnomalyMode::is_enabled() && AnomalyMode::checks_nan()) check_no_nan(*node, out);
    if (!retain_) node->release_saved();
    return out;
  }

  // Reads the gradients' values (a sync point when co-executed): anomaly mode is for debugging.
  static void check_no_nan(const Node& node, const TensorList& out) {
    for (size_t i = 0; i < out.size(); ++i) {
      if (!out[i].defined() || !is_floating(out[i].dtype())) continue;
      GradModeGuard no_grad(false);
      const Tensor any_nan = move_to(call1("any", {call1("isnan", {out[i]})}), Device{});
      if (!*any_nan.data<bool>()) continue;
      throw Error(ErrorKind::Runtime,
                  "Function '" + node.name() + "' returned nan values in its " + std::to_string(i) + "th output.");
    }
  }

  bool retain_;
  bool create_;
  bool capturing_ = false;
  std::vector<std::shared_ptr<Node>> roots_;
  std::unordered_map<Node*, TensorList> buffers_;
  std::unordered_map<Node*, int> deps_;
  std::unordered_set<Node*> needed_;
  std::vector<Capture> captures_;
  TensorList captured_;
};

// The root edges and their starting gradients (1 for a scalar root when none is given).
void add_roots(GraphTask& task, const TensorList& roots, const TensorList& grad_roots) {
  TERRA_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(), Runtime, "got ", grad_roots.size(),
              " gradients for ", roots.size(), " tensors");
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    Edge e = gradient_edge(root);
    if (!e.valid())
      throw Error(ErrorKind::Runtime,
                  "element " + std::to_string(i) + " of tensors does not require grad and does not have a grad_fn");
    Tensor g = i < grad_roots.size() ? grad_roots[i] : Tensor();
    if (!g.defined()) {
      if (root.numel() != 1)
        throw Error(ErrorKind::Runtime, "grad can be implicitly created only for scalar outputs");
      g = call1("ones", {}, {{"size", std::vector<int64_t>(root.shape().begin(), root.shape().end())},
                             {"dtype", root.dtype()}, {"device", root.device()}});
    } else if (g.shape() != root.shape()) {
      throw Error(ErrorKind::Runtime, "Mismatch in shape: grad_output[" + std::to_string(i) + "] has a shape of " +
                                          shape_str(g.shape()) + " and output[" + std::to_string(i) +
                                          "] has a shape of " + shape_str(root.shape()) + ".");
    } else if (g.dtype() != root.dtype()) {
      g = cast_to(g, root.dtype());
    }
    task.add_root(e, g);
  }
}

}  // namespace

void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph, bool create_graph) {
  const auto run = [&] {
    GraphTask task(retain_graph, create_graph);
    add_roots(task, roots, grad_roots);
    task.run();
  };
  if (trace::intercepting()) return trace::backward_call(roots, grad_roots, retain_graph, create_graph, run);
  run();
}

TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& grad_roots, bool retain_graph,
                bool create_graph, bool allow_unused) {
  GraphTask task(retain_graph, create_graph);
  add_roots(task, roots, grad_roots);
  std::vector<Edge> targets;
  for (const Tensor& in : inputs) {
    Edge e = gradient_edge(in);
    if (!e.valid()) throw Error(ErrorKind::Runtime, "One of the differentiated Tensors does not require grad");
    targets.push_back(e);
  }
  task.capture(targets);
  task.run();
  TensorList result = task.captured();
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && !allow_unused)
      throw Error(ErrorKind::Runtime,
                  "One of the differentiated Tensors appears to not have been used in the graph. Set "
                  "allow_unused=True if this is the desired behavior.");
    if (result[i].defined() && !create_graph) result[i] = detach(result[i]);
  }
  return result;
}

}  // namespace terra::autograd
