// The program's hot loop and its iteration boundaries (DESIGN.md §7, Note [Hot loop] in
// hot_loop.cpp): found at a backward() call, then followed through the instruction offset of the
// loop's frame at each op call.
#pragma once
#include <Python.h>

#include <vector>

#include "bindings/src/code_info.hpp"

namespace terra::python {

class HotLoop {
 public:
  bool known() const { return frame_ != nullptr; }
  PyFrameObject* frame() const { return frame_; }
  PyThreadState* thread() const { return thread_; }
  bool running_at(int offset) const { return loop_.contains(offset); }

  // Looks for the hot loop from the innermost frame of `thread` outwards (a backward() call is
  // running there); stays unknown when no frame is inside a loop that can be one.
  void discover(PyThreadState* thread);
  // An op call while the hot frame executes `offset` (inside the loop), in the call of `callee`
  // (the frame it called; null when the op comes from the hot frame itself): true when the loop
  // went round since the previous op call.
  bool crossed_head(int offset, PyFrameObject* callee);
  // backward() was called in the loop's current iteration.
  void saw_backward() { backward_seen_ = true; }
  // Drops the loop (and the reference to its frame); a later backward() finds one again.
  void forget();

 private:
  PyFrameObject* frame_ = nullptr;  // strong reference: it identifies the loop's frame
  PyThreadState* thread_ = nullptr;
  LoopSpan loop_;
  std::vector<LoopSpan> nested_;  // loops inside loop_
  int last_offset_ = -1;
  PyFrameObject* last_callee_ = nullptr;  // strong reference, so its address is not reused
  bool backward_seen_ = false;  // since the last boundary
};

}  // namespace terra::python
