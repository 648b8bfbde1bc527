// The per-code-object cache of the location provider (see code_info.hpp).
#include "bindings/src/code_info.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unordered_map>

namespace terra::python {
namespace py = pybind11;
namespace {

// The folder of the terra package, with a trailing separator: code objects whose file lies under
// it are Terra's own. Derived from the package's __file__ as module files are, so the two agree
// whether the package was found through a relative or an absolute path.
const std::string& terra_package_dir() {
  static const std::string* dir = [] {
    py::object os_path = py::module_::import("os.path");
    py::object init = py::module_::import("terra").attr("__file__");
    return new std::string(py::str(os_path.attr("dirname")(init)).cast<std::string>() + "/");
  }();
  return *dir;
}

bool is_comprehension(const std::string& name) {
  return name == "<listcomp>" || name == "<setcomp>" || name == "<dictcomp>" || name == "<genexpr>";
}

// Never destroyed: the entries hold references to code objects, which must not be released after
// the interpreter has gone.
std::unordered_map<PyCodeObject*, CodeInfo>& cache() {
  static auto* map = new std::unordered_map<PyCodeObject*, CodeInfo>();
  return *map;
}

CodeInfo& entry(PyCodeObject* code) {
  auto it = cache().find(code);
  if (it != cache().end()) return it->second;
  py::handle h(reinterpret_cast<PyObject*>(code));
  CodeInfo info;
  const std::string path = h.attr("co_filename").cast<std::string>();
  info.file = path.substr(path.rfind('/') + 1);
  info.function = h.attr("co_name").cast<std::string>();
  info.in_terra = path.rfind(terra_package_dir(), 0) == 0;
  info.comprehension = is_comprehension(info.function);
  Py_INCREF(code);
  return cache().emplace(code, std::move(info)).first->second;
}

}  // namespace

const CodeInfo& code_info(PyCodeObject* code) { return entry(code); }

const std::vector<LoopSpan>& loops_of(PyCodeObject* code) {
  CodeInfo& info = entry(code);
  if (!info.loops_known) {
    static const py::object* loops = new py::object(py::module_::import("terra._loops").attr("loops"));
    for (py::handle span : (*loops)(py::handle(reinterpret_cast<PyObject*>(code)))) {
      auto [head, end] = span.cast<std::pair<int, int>>();
      info.loops.push_back(LoopSpan{head, end});
    }
    info.loops_known = true;
  }
  return info.loops;
}

}  // namespace terra::python
