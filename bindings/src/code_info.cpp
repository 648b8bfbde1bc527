// The per-code-object cache of the location provider (see code_info.hpp).
#include "bindings/src/code_info.hpp"

#include "bindings/src/common.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unordered_map>

#include <opcode.h>  // CACHE, CALL, PRECALL, EXTENDED_ARG

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

// Per code unit of `code`, the unit its offset is taken back to (Note [Offsets of specialized
// instructions]): an inline cache (opcode CACHE in the unspecialized bytecode) to its instruction,
// a CALL (after any EXTENDED_ARG of its own) to the PRECALL before it.
std::vector<int> starts_of_units(PyCodeObject* code) {
  std::vector<int> starts;
#if PY_VERSION_HEX >= 0x030B0000
  PyObject* bytes = PyCode_GetCode(code);
  if (!bytes) {
    PyErr_Clear();
    return starts;
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(PyBytes_AS_STRING(bytes));
  const int n = static_cast<int>(PyBytes_GET_SIZE(bytes) / 2);
  starts.resize(static_cast<size_t>(n));
  int instruction = 0;
  for (int i = 0; i < n; ++i) {
    const unsigned char op = raw[2 * i];
    if (op != CACHE) instruction = i;
    starts[static_cast<size_t>(i)] = instruction;
#ifdef PRECALL  // 3.11 only: 3.12 calls in one instruction
    if (op == CALL) {
      int before = i - 1;
      while (before > 0 && raw[2 * before] == EXTENDED_ARG) --before;
      if (before >= 0 && raw[2 * starts[static_cast<size_t>(before)]] == PRECALL)
        starts[static_cast<size_t>(i)] = instruction = starts[static_cast<size_t>(before)];
    }
#endif
  }
  Py_DECREF(bytes);
#endif
  return starts;
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
  info.start_of_unit = starts_of_units(code);
  Py_INCREF(code);
  return cache().emplace(code, std::move(info)).first->second;
}

}  // namespace

const CodeInfo& code_info(PyCodeObject* code) {
  // The location provider asks for every frame of every op call: a direct-mapped cache of recent
  // code objects in front of the map (whose entries, and so these pointers, live for the process).
  struct Slot {
    PyCodeObject* code = nullptr;
    const CodeInfo* info = nullptr;
  };
  static Slot slots[256];
  Slot& slot = slots[(reinterpret_cast<uintptr_t>(code) >> 4) & 255];
  if (slot.code != code) slot = {code, &entry(code)};
  return *slot.info;
}

int instruction_start(PyCodeObject* code, int offset) {
  if (offset < 0) return offset;  // before the first instruction
  const std::vector<int>& starts = code_info(code).start_of_unit;
  const size_t unit = static_cast<size_t>(offset) / 2;
  return unit < starts.size() ? starts[unit] * 2 : offset;
}

const std::string& file_and_line(PyCodeObject* code, int offset) {
  CodeInfo& info = entry(code);
  auto [it, fresh] = info.file_and_line.try_emplace(offset);
  if (fresh) it->second = info.file + ":" + std::to_string(line_of(code, offset));
  return it->second;
}

const std::vector<LoopSpan>& loops_of(PyCodeObject* code) {
  CodeInfo& info = entry(code);
  if (!info.loops_known) {
    static std::atomic<py::object*> loops{nullptr};
    for (py::handle span : package_attr(loops, "terra._loops", "loops")(py::handle(reinterpret_cast<PyObject*>(code)))) {
      auto [head, end] = span.cast<std::pair<int, int>>();
      info.loops.push_back(LoopSpan{head, end});
    }
    info.loops_known = true;
  }
  return info.loops;
}

}  // namespace terra::python
