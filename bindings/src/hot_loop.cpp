// Finding the hot loop and seeing it go round (see hot_loop.hpp).
#include "bindings/src/hot_loop.hpp"

#include <algorithm>
#include <utility>

#include "bindings/src/frames.hpp"

namespace terra::python {

// Note [Hot loop]
// The hot loop is the innermost loop whose body calls backward(). At a backward() call, the first
// frame, going outwards from the caller, whose current instruction lies inside a loop of its code
// object holds it; Terra's own package and comprehensions are skipped (their loops run inside one
// iteration of the user's). The frame object is kept (a strong reference), so its identity stays
// valid for as long as the loop is followed. Loops come from the bytecode (bindings/terra/_loops.py):
// in CPython 3.11 every loop, and every `continue`, jumps back to the loop's head.
//
// At each op call the frame's current offset is compared with the one of the previous op call: a
// move backwards means a jump back was taken, which is the hot loop going round unless both
// offsets lie inside one loop nested in it (a `for p in params:` in the body). A `continue` jumps
// to the head as well, so it is a boundary too. The offset can also stay where it was: a body that
// is one call (`for batch in data: train_step(batch)`) runs every op at the same offset of the hot
// frame. A new call at that offset (another callee frame) is the loop going round as well, once
// the iteration has called backward(), which every iteration of the hot loop does: a builtin that
// calls a Python function many times from one statement (functools.reduce or map with a lambda,
// sorted with a key) makes new callee frames at one offset too, inside one iteration. When the
// offset leaves the loop's range (the loop finished) or the frame is no longer on the stack (its
// function returned), the loop is forgotten, so that a later loop can be found.

void HotLoop::discover(PyThreadState* thread) {
  PyFrameObject* inner = nullptr;  // alive: it is executing
  for (FrameCursor f(thread); f; inner = f.frame(), f.next()) {
    const CodeInfo& info = code_info(f.code());
    if (info.in_terra || info.comprehension) continue;
    const int offset = f.offset();
    const std::vector<LoopSpan>& loops = loops_of(f.code());
    const LoopSpan* innermost = nullptr;
    for (const LoopSpan& loop : loops) {
      if (loop.contains(offset) && (!innermost || innermost->contains(loop))) innermost = &loop;
    }
    if (!innermost) continue;
    Py_INCREF(f.frame());
    frame_ = f.frame();
    thread_ = thread;
    loop_ = *innermost;
    nested_.clear();
    for (const LoopSpan& loop : loops) {
      if (loop_.contains(loop) && !(loop == loop_)) nested_.push_back(loop);
    }
    last_offset_ = offset;
    Py_XINCREF(inner);
    Py_XSETREF(last_callee_, inner);
    backward_seen_ = true;  // found at a backward() call
    return;
  }
}

bool HotLoop::crossed_head(int offset, PyFrameObject* callee) {
  const int previous = std::exchange(last_offset_, offset);
  // An op called from C code that the hot frame called directly (builtin sum() adding what a
  // generator yields) has no callee frame: it says nothing about a new call, and the generator's
  // frame resumed after it is still the callee seen before.
  const bool new_call = callee && callee != last_callee_;
  PyFrameObject* released = nullptr;
  if (callee && callee != last_callee_) {
    released = last_callee_;
    Py_INCREF(callee);
    last_callee_ = callee;
  }
  const bool went_back = offset < previous || (offset == previous && new_call && backward_seen_);
  const bool round = went_back && std::none_of(nested_.begin(), nested_.end(), [&](const LoopSpan& inner) {
                       return inner.contains(offset) && inner.contains(previous);
                     });
  if (round) backward_seen_ = false;
  Py_XDECREF(released);  // last: releasing a frame can run finalizers that call ops
  return round;
}

void HotLoop::forget() {
  thread_ = nullptr;
  nested_.clear();
  last_offset_ = -1;
  backward_seen_ = false;
  Py_CLEAR(last_callee_);
  Py_CLEAR(frame_);  // last: releasing the frame can run Python code (finalizers) that calls ops
}

}  // namespace terra::python
