// What the location provider needs to know about a Python code object, computed once per code
// object and cached for the process's life (the cache holds a reference, so a code object's
// address is never reused for another while it is a key): its printable names, whether it belongs
// to Terra's own package, and its loops (from bindings/terra/_loops.py, on first use only).
#pragma once
#include <Python.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace terra::python {

// A loop of a code object, as byte offsets: its first instruction and its last backward jump.
struct LoopSpan {
  int head = 0;
  int end = -1;
  bool contains(int offset) const { return head <= offset && offset <= end; }
  bool contains(const LoopSpan& o) const { return head <= o.head && o.end <= end; }
  bool operator==(const LoopSpan& o) const { return head == o.head && end == o.end; }
};

struct CodeInfo {
  std::string file;      // the file's base name
  std::string function;  // co_name
  bool in_terra = false;        // code of the terra package (nn, functional, optim written in Python)
  bool comprehension = false;   // <listcomp>, <genexpr>, ...: a loop of its own frame
  std::vector<LoopSpan> loops;  // sorted by head; valid once loops_known
  bool loops_known = false;
  // Per 2-byte code unit, the offset instruction_start gives for it (CPython 3.11 and later;
  // empty before).
  std::vector<int> start_of_unit;
  std::unordered_map<int, std::string> file_and_line;  // by offset, filled by file_and_line()
};

// The cached record of `code` (the loops not yet computed). Needs the GIL.
const CodeInfo& code_info(PyCodeObject* code);

// Note [Offsets of specialized instructions]: CPython 3.11 specializes an instruction after it has
// run a few times, and some specialized forms move the frame's last-instruction offset while they
// call into Python: BINARY_SUBSCR_GETITEM (`images[batch]` on a class with __getitem__ written in
// Python) pushes the callee's frame with the offset past its inline caches, where the generic form
// calls through C with the offset on the instruction. In 3.11 a call is two instructions, PRECALL
// then CALL; the specialized forms of PRECALL for builtins (`next(stream)` resuming a generator
// that calls ops, `sum(...)` over one) make the call themselves, so the frame reports the PRECALL
// where the generic form reported the CALL. The same call would then have two location keys,
// before and after the specialization, and replay would take the later one for a new path. So
// offsets are taken back to the start of the instruction they fall in, and a CALL's to its PRECALL.
int instruction_start(PyCodeObject* code, int offset);
// The loops of `code`, computed on first use. Needs the GIL.
const std::vector<LoopSpan>& loops_of(PyCodeObject* code);
// The line `offset` of `code` belongs to.
inline int line_of(PyCodeObject* code, int offset) { return PyCode_Addr2Line(code, offset); }
// "train.py:41" for `offset` of `code`, computed once per place: a fetch asks for its line every
// time Python waits there, and PyCode_Addr2Line decodes the line table from its start each call.
const std::string& file_and_line(PyCodeObject* code, int offset);

}  // namespace terra::python
