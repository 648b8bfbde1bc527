// Replaying a whole backward() call (Note [Replaying backward] in backward_replay.cpp): what a
// traced call leaves behind so that a later iteration can hand out its ops without running the
// autograd engine's formulas. Internal to engine/trace (session.cpp drives it).
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/autograd/node.hpp"
#include "engine/trace/record.hpp"

namespace terra::trace::detail {

struct State;

// Where one input of one of the call's ops comes from, without running the formula that passed it.
struct InputRef {
  enum class Kind : uint8_t {
    None,         // an optional input left out
    Local,        // output `b` of the call's op `a` (counted from the call's first op)
    SavedInput,   // saved input `b` of the walk's node `a`
    SavedOutput,  // saved output `b` of the walk's node `a`
    LeafGrad,     // the .grad of the walk's AccumulateGrad node `a`
    Constant,     // BackwardReplay::constants[a]: a Python number a formula wrapped
    View,         // BackwardReplay::views[a]: a view a formula made of one of the above
    Converted,    // BackwardReplay::conversions[a]: a wrapped number of the above in another dtype
  };
  Kind kind = Kind::None;
  int32_t a = -1, b = -1;
};

// A view of tensors from outside the call, which a formula made eagerly (view_of_externals in
// session.cpp): the same view of the same base now, by layout (a view's layout follows from its
// base's shape and strides, which the signature covers, and its attributes).
struct SideView {
  InputRef base;
  Shape shape;
  Strides strides;
  int64_t offset_delta = 0;  // from the base's offset
};

// A wrapped number converted on the host (dispatcher.cpp's cast_to and number_as_tensor): its
// value comes from the base's, which may change from call to call (`x ** p`).
struct Conversion {
  InputRef base;
  DType dtype = DType::Float32;
  bool wrapped = false;  // the result is a wrapped number too
};

// A leaf's .grad after the call: output `output` of the call's op `op`, or (op -1) the .grad it
// had, accumulated into in place by one of the call's ops.
struct LeafGrad {
  int32_t op = -1, output = -1;
};

struct BackwardReplay {
  uint64_t signature = 0;  // of the autograd graph the call ran on (walk_graph)
  size_t graph_nodes = 0;  // how many nodes that graph had
  std::vector<int> nodes;  // the TraceGraph nodes of the call's ops, in order
  std::vector<InputRef> inputs;  // per input of each op, in order
  std::vector<SideView> views;
  std::vector<Conversion> conversions;
  std::vector<Tensor> constants;
  std::vector<LeafGrad> leaves;  // per AccumulateGrad node, in walk order
  // Per output of each op, in order: whether replay makes it. An output no later op's output
  // aliases, no in-place op writes and no .grad becomes is read only inside the plan (or never).
  std::vector<bool> needed;
};

// Every node reachable from backward()'s root, in a fixed order, and a hash of everything the
// formulas read that replay does not check op by op: node kinds, ops, attributes (runtime values
// included), which inputs need gradients, input and output metas, saved tensors' presence and
// kind, the edges, and which leaves have a .grad already. Not eligible: hooks, retain_grad, nodes
// that are not OpNode or AccumulateGrad (Python functions), a released graph, a saved tensor
// changed in place since it was saved (the normal path raises then), dead leaves.
struct GraphWalk {
  bool eligible = true;
  const char* why_not = "";  // when not eligible, for --explain
  uint64_t signature = 0;
  std::vector<Node*> nodes;
};
// `expected_nodes`: a guess of their number, reserved up front.
GraphWalk walk_graph(const Edge& root, size_t expected_nodes = 64);

// Written while a backward() call is traced (State::capture), turned into a BackwardReplay at
// its end. Holds the call's saved tensors and leaf grads until then, so that an address seen by
// an op is the tensor the walk saw.
class BackwardCapture {
 public:
  BackwardCapture(const GraphWalk& walk, int first_record);
  // A traced op of the call (session.cpp's append_traced).
  void note_record(const Record& r, const std::vector<Tensor>& inputs);
  // A view of outside tensors that ran eagerly inside the call.
  void note_view(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);
  // A wrapped number converted on the host inside the call.
  void note_conversion(const Tensor& from, const Tensor& to);
  // After the call: the replay, or nothing when something in it cannot be replayed whole. `s`:
  // the session after the call (for the leaves' new .grad tags).
  bool finish(const State& s, int last_record, BackwardReplay& out);
  // Why finish() refused, for --explain.
  const char* why_not() const { return why_not_; }

 private:
  InputRef ref_of(const Tensor& t);
  const GraphWalk& walk_;
  int first_;
  bool failed_ = false;
  const char* why_not_ = "";
  void fail(const char* why) {
    if (!failed_) why_not_ = why;
    failed_ = true;
  }
  std::unordered_map<const TensorImpl*, InputRef> refs_;
  std::vector<Tensor> held_;  // the tensors refs_ points at, alive until finish()
  std::vector<bool> leaf_had_grad_;  // per AccumulateGrad in walk order
  // Per op: where its outputs start among all outputs, and per output the Local input it aliases
  // (a view, or the input itself); and the ops' in-place targets that are Local.
  std::vector<uint32_t> outputs_at_;
  std::vector<InputRef> output_aliases_;
  std::vector<InputRef> local_targets_;
  BackwardReplay replay_;
};

// The views and conversions made so far for one replay: each is made once, so that the ops that
// read one read the same tensor, as they did when traced.
struct Resolved {
  std::vector<Tensor> views, conversions;
};

// The tensor `ref` names now (walk: this call's walk; `outputs`: the outputs of the call's ops so
// far, op k's from outputs_at[k]); undefined when it cannot be had (the caller then runs the call
// as autograd would).
Tensor resolve(const InputRef& ref, const BackwardReplay& replay, const GraphWalk& walk,
               const std::vector<Tensor>& outputs, const std::vector<uint32_t>& outputs_at, Resolved& made);

}  // namespace terra::trace::detail
