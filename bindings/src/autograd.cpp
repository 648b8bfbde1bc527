// Autograd entry points: backward and grad, grad mode, graph nodes (grad_fn) and tensor hooks.
// backward() also tells the tracing glue where the hot loop is (locations.hpp).
#include "engine/autograd/backward.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "bindings/src/common.hpp"
#include "bindings/src/locations.hpp"

namespace terra::python {
namespace {

TensorList tensors_of(py::handle seq) {
  TensorList out;
  if (seq.is_none()) return out;
  if (is_tensor(seq)) return {unwrap(seq)};
  for (py::handle h : seq) out.push_back(h.is_none() ? Tensor() : unwrap(h));
  return out;
}

// A hook handle: remove() turns the hook off (the engine keeps the slot).
struct HookHandle {
  std::shared_ptr<bool> active;
  void remove() { *active = false; }
};

}  // namespace

void bind_autograd(py::module_& m) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("name", &Node::name)
      .def_property_readonly("next_functions", [](const Node& n) {
        py::tuple t(n.next_edges.size());
        for (size_t i = 0; i < n.next_edges.size(); ++i) {
          const Edge& e = n.next_edges[i];
          t[i] = py::make_tuple(e.node ? py::cast(e.node) : py::none(), e.input_nr);
        }
        return t;
      })
      .def("__repr__", [](const std::shared_ptr<Node>& n) {
        std::ostringstream os;
        os << "<" << n->name() << " object at " << static_cast<const void*>(n.get()) << ">";
        return os.str();
      });

  py::class_<HookHandle>(m, "RemovableHandle").def("remove", &HookHandle::remove);

  m.def("_register_hook", [](py::handle tensor, py::function fn) {
    auto active = std::make_shared<bool>(true);
    // The graph node keeping the hook may be dropped on a thread without the GIL (a finished span
    // job lets go of the tensors it read while Python waits), so letting go of fn takes the GIL.
    std::shared_ptr<py::object> hook(new py::object(std::move(fn)), [](py::object* o) {
      release_anywhere(*o);
      delete o;
    });
    autograd::register_hook(unwrap(tensor), [hook, active](const Tensor& g) -> Tensor {
      if (!*active) return Tensor();
      py::gil_scoped_acquire gil;
      LocationScope own_frames(LocationScope::PythonCallback);
      py::object r = (*hook)(wrap(g));
      if (r.is_none()) return Tensor();
      Tensor replaced = unwrap(r);
      // A gradient of another shape or dtype would reach .grad or the next node unchecked.
      const auto name = [&] { return std::string(py::str(py::getattr(*hook, "__name__", py::repr(*hook)))); };
      if (replaced.shape() != g.shape())
        throw Error(ErrorKind::Runtime, "hook '" + name() + "' has changed the size of value (was " +
                                            shape_str(g.shape()) + " got " + shape_str(replaced.shape()) + ")");
      if (replaced.dtype() != g.dtype())
        throw Error(ErrorKind::Runtime, "hook '" + name() + "' has changed the type of value (was " +
                                            dtype_name(g.dtype()) + " got " + dtype_name(replaced.dtype()) + ")");
      return replaced;
    });
    return HookHandle{active};
  });

  m.def("_backward", [](py::handle tensors, py::handle grads, bool retain_graph, bool create_graph) {
    note_backward_call();  // the innermost loop calling backward() is the hot loop
    LocationScope one_location(LocationScope::Backward);
    autograd::backward(tensors_of(tensors), tensors_of(grads), retain_graph, create_graph);
  });
  m.def("_grad", [](py::handle outputs, py::handle inputs, py::handle grads, bool retain_graph, bool create_graph,
                    bool allow_unused) {
    LocationScope one_location(LocationScope::Backward);
    TensorList r = autograd::grad(tensors_of(outputs), tensors_of(inputs), tensors_of(grads), retain_graph,
                                  create_graph, allow_unused);
    py::tuple out(r.size());
    for (size_t i = 0; i < r.size(); ++i) out[i] = wrap(r[i]);
    return out;
  });
  m.def("is_grad_enabled", [] { return GradMode::is_enabled(); });
  m.def("_set_anomaly_enabled", [](bool enabled, bool check_nan) { AnomalyMode::set_enabled(enabled, check_nan); },
        py::arg("mode"), py::arg("check_nan") = true);
  m.def("_is_anomaly_enabled", [] { return AnomalyMode::is_enabled(); });
  m.def("_is_anomaly_check_nan_enabled", [] { return AnomalyMode::checks_nan(); });
  m.def("_set_grad_enabled", [](bool enabled) { GradMode::set_enabled(enabled); });
}

}  // namespace terra::python
