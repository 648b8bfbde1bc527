// terra.autograd.Function: the graph node of a custom Function call, whose backward is Python.
//
// Function.apply (terra/autograd/function.py) runs forward with grad mode off, then hands this
// file the call's arguments, its outputs and a callable that runs the user's backward. The node
// gets one next edge per forward argument (invalid for non-tensors and tensors that need no
// gradient), and each output gets the node as its grad_fn. Gradient ops the backward issues are
// located by the Python frames that issue them, as a hook's are (LocationScope::PythonCallback).
#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "bindings/src/common.hpp"
#include "bindings/src/locations.hpp"

namespace terra::python {
namespace {

class PythonFunctionNode : public Node {
 public:
  PythonFunctionNode(py::object backward, std::string name, size_t outputs)
      : backward_(std::move(backward)), name_(std::move(name)), outputs_(outputs) {}

  // The node may be dropped on a thread without the GIL (a graph released by C++).
  ~PythonFunctionNode() override { release_anywhere(backward_); }

  TensorList apply(TensorList grads) override {
    py::gil_scoped_acquire gil;
    TERRA_CHECK(backward_, Runtime,
                "Trying to backward through the graph a second time (or directly access saved tensors after they "
                "have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward.");
    LocationScope own_frames(LocationScope::PythonCallback);
    py::tuple args(grads.size());
    for (size_t i = 0; i < grads.size(); ++i) args[i] = grads[i].defined() ? wrap(grads[i]) : py::none();
    py::object result = backward_(*args);  // one gradient (or None) per forward argument, checked there
    TensorList out;
    out.reserve(next_edges.size());
    for (py::handle g : result) out.push_back(g.is_none() ? Tensor() : unwrap(g));
    return out;
  }

  void release_saved() override {
    py::gil_scoped_acquire gil;
    backward_ = py::object();  // drops the ctx and what it saved
  }

  std::string name() const override { return name_; }
  size_t num_outputs() const override { return outputs_; }

 private:
  py::object backward_;
  std::string name_;
  size_t outputs_;
};

}  // namespace

void bind_custom_function(py::module_& m) {
  // _attach_function_node(backward, name, args, outputs): args is the forward call's arguments
  // (anything; tensors that require grad get edges), outputs the forward's tensor outputs, each
  // made the node's output of its position (None for one that stays out of the graph).
  m.def("_attach_function_node", [](py::object backward, std::string name, py::sequence args, py::sequence outputs) {
    auto node = std::make_shared<PythonFunctionNode>(std::move(backward), std::move(name), py::len(outputs));
    for (py::handle a : args) {
      const bool differentiable = is_tensor(a) && autograd::requires_grad(unwrap(a));
      node->next_edges.push_back(differentiable ? autograd::gradient_edge(unwrap(a)) : Edge{});
    }
    uint32_t slot = 0;
    for (py::handle o : outputs) {  // None: a non-differentiable output, which keeps its slot
      if (!o.is_none()) {
        AutogradMeta& meta = autograd::ensure_meta(unwrap(o));
        meta.requires_grad = true;
        meta.grad_fn = node;
        meta.output_nr = slot;
      }
      ++slot;
    }
    return std::static_pointer_cast<Node>(node);
  });
}

}  // namespace terra::python
