// The autograd graph: one Node per recorded op call, edges pointing at the nodes that produced
// its inputs, AccumulateGrad nodes at the leaves. Recorded by the dispatcher in eager mode
// (record.hpp) and run backwards by backward.hpp.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/registry/op_def.hpp"

namespace terra {

class Node;

// Where a gradient goes: input slot `input_nr` of `node`.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// Runs on the gradient flowing into a tensor; may return a replacement (or undefined to keep it).
using GradHook = std::function<Tensor(const Tensor&)>;

// A tensor kept for backward, with the version it had when saved (PyTorch's SavedVariable).
struct SavedTensor {
  Tensor data;              // an alias without autograd history, so no reference cycle forms
  uint32_t version = 0;
  bool is_output = false;   // saved outputs get their history back from the owning node
  uint32_t output_nr = 0;
  std::shared_ptr<Node> history;  // for saved inputs: the producer (kept so create_graph works)
  uint32_t history_nr = 0;
  bool requires_grad = false;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node() = default;
  // Gradients for each next edge, given gradients for each of this node's outputs.
  virtual TensorList apply(TensorList grads) = 0;
  virtual std::string name() const = 0;
  virtual void release_saved() {}
  virtual size_t num_outputs() const { return 1; }

  std::vector<Edge> next_edges;
  uint64_t sequence_nr;  // later nodes run first
  // The location key of the traced op call that made this node (engine/trace); the gradient
  // ops it issues are located by it.
  uint64_t trace_location = 0;
  // Hooks on the gradient of output k, before it is used (Tensor.register_hook on a non-leaf).
  std::unordered_map<uint32_t, std::vector<GradHook>> pre_hooks;
  // Non-leaf tensors that asked for retain_grad(), by output slot.
  std::unordered_map<uint32_t, std::weak_ptr<TensorImpl>> retained;
  // Scratch of engine/trace's graph walk (walk_graph in backward_replay.cpp), so that it needs no
  // map: the walk that last saw this node, and the node's place in that walk.
  uint64_t walk_mark = 0;
  int32_t walk_index = -1;
};

// The backward of one registered op call.
class OpNode : public Node {
 public:
  OpNode(const OpDef& op, Attrs attrs) : op_(op), attrs_(std::move(attrs)) {}
  TensorList apply(TensorList grads) override;
  std::string name() const override;
  void release_saved() override;
  size_t num_outputs() const override { return output_metas.size(); }

  const OpDef& op() const { return op_; }
  const Attrs& attrs() const { return attrs_; }
  bool released() const { return released_; }
  // One per input (empty data where not kept), or none when the op keeps no input.
  std::vector<SavedTensor> saved_inputs;
  std::vector<SavedTensor> saved_outputs;   // likewise, per output
  std::vector<InputMeta> input_metas;
  std::vector<InputMeta> output_metas;     // `defined` here: the output carries a gradient
  std::vector<bool> input_needs_grad;

 private:
  Tensor unpack(const SavedTensor& s, size_t index) const;
  const OpDef& op_;
  Attrs attrs_;
  bool released_ = false;
};

// Sums gradients into a leaf's .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : leaf_(leaf) {}
  TensorList apply(TensorList grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// A node whose gradient is not implemented: fails when backward reaches it.
class NotImplementedNode : public Node {
 public:
  NotImplementedNode(std::string op, size_t outputs) : op_(std::move(op)), outputs_(outputs) {}
  TensorList apply(TensorList grads) override;
  std::string name() const override;
  size_t num_outputs() const override { return outputs_; }

 private:
  std::string op_;
  size_t outputs_;
};

// "add" -> "AddBackward0", "max_pool2d" -> "MaxPool2DBackward0" (PyTorch's naming).
std::string backward_node_name(const std::string& op);
// What PyTorch 1.13 names the node of the same call (node_names.cpp): OpNode::name().
std::string pytorch_node_name(const OpNode& node);

}  // namespace terra
