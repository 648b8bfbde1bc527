// terra.Generator and the default generator's seeding functions. Reading or changing a generator's
// state first runs any deferred work (trace::sync), which may draw from it.
#include <random>

#include "bindings/src/common.hpp"
#include "engine/trace/session.hpp"

namespace terra::python {

void bind_random(py::module_& m) {
  py::class_<Generator, std::shared_ptr<Generator>>(m, "Generator")
      .def(py::init([](py::object device) {
             Device d = to_device(device.is_none() ? py::str("cpu") : device);
             (void)d;
             return std::make_shared<Generator>();
           }),
           py::arg("device") = py::none())
      .def("manual_seed", [](const std::shared_ptr<Generator>& g, int64_t seed) {
        trace::sync();
        g->manual_seed(static_cast<uint64_t>(seed));
        return g;
      })
      .def("initial_seed", [](const Generator& g) { return g.seed(); })
      .def("seed", [](const std::shared_ptr<Generator>& g) {
        trace::sync();
        uint64_t s = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
        g->manual_seed(s);
        return s;
      })
      .def("get_state", [](const Generator& g) {
        trace::sync();
        return py::make_tuple(g.seed(), g.offset());
      })
      .def("set_state", [](Generator& g, py::tuple state) {
        trace::sync();
        g.set_state(py::cast<uint64_t>(state[0]), py::cast<uint64_t>(state[1]));
      })
      .def_property_readonly("device", [](const Generator&) { return py::module_::import("terra").attr("device")("cpu"); });
  // The process-wide generator, shared (not owned) by Python.
  m.attr("default_generator") = std::shared_ptr<Generator>(&default_generator(), [](Generator*) {});
}

}  // namespace terra::python
