// Walking the current thread's Python frames with CPython 3.11's public API, innermost first.
// PyThreadState_GetFrame and PyFrame_GetBack return new references; the cursor owns the one it is
// on. Callers hold the GIL.
#pragma once
#include <Python.h>

#include "bindings/src/code_info.hpp"

namespace terra::python {

class FrameCursor {
 public:
  explicit FrameCursor(PyThreadState* thread) : frame_(PyThreadState_GetFrame(thread)) {}
  ~FrameCursor() { Py_XDECREF(frame_); }
  FrameCursor(const FrameCursor&) = delete;
  FrameCursor& operator=(const FrameCursor&) = delete;

  explicit operator bool() const { return frame_ != nullptr; }
  PyFrameObject* frame() const { return frame_; }
  // Borrowed: the frame holds its code object while the cursor holds the frame.
  PyCodeObject* code() const {
    PyCodeObject* code = PyFrame_GetCode(frame_);
    Py_DECREF(code);
    return code;
  }
  // The byte offset of the instruction the frame is executing (a call, while a callee runs), at
  // its start even where a specialized form reports a point inside it (code_info.hpp).
  int offset() const { return instruction_start(code(), PyFrame_GetLasti(frame_)); }
  void next() {
    PyFrameObject* back = PyFrame_GetBack(frame_);
    Py_DECREF(frame_);
    frame_ = back;
  }

 private:
  PyFrameObject* frame_;
};

}  // namespace terra::python
