// The tracing session's view of Python (engine/trace/session.hpp): the location provider that the
// engine calls at every top-level op call while a session is active, the describer that prints a
// location key, the hot loop's discovery at backward(), and terra.step's explicit iterations.
// Everything here runs with the GIL held, on the thread that calls the op.
#pragma once
#include <Python.h>

#include <cstdint>
#include <string>

#include "engine/trace/session.hpp"

namespace terra::python {

// Installs the provider and the describer into the engine (once, at module import).
void install_location_hooks();

// The provider: the key of the current Python call stack, from the op's caller up to the hot
// loop's frame (or the frame that entered terra.step, or a fixed depth when neither is known), and
// whether the hot loop went round since the previous op call.
trace::Location current_location();
// "model.py:12 in forward <- train.py:40" for a key the provider returned; a placeholder otherwise.
std::string describe_location_key(uint64_t key);

// "train.py:41": the innermost frame outside the terra package (where the user's program is now).
std::string current_user_line();

// backward() is being called: finds the hot loop when none is being followed.
void note_backward_call();

// Note [Backward keeps its location]
// The autograd engine issues every gradient op of a backward() call from C++, under the same
// Python frames: in a Backward scope the provider walks them for the first op and returns that key
// to the others. Python code that the engine calls (a tensor hook) has frames of its own: it runs
// in a PythonCallback scope, which walks as usual. Each scope restores the enclosing one's state.
class LocationScope {
 public:
  enum Kind { Backward, PythonCallback };
  explicit LocationScope(Kind kind);
  ~LocationScope();
  LocationScope(const LocationScope&) = delete;
  LocationScope& operator=(const LocationScope&) = delete;

 private:
  bool saved_active_, saved_known_;
  uint64_t saved_key_;
};

// terra.step: `frame` entered an explicit iteration. Steps nest: the outermost one is the iteration
// and bounds the location keys; while one is open, boundaries are not detected.
void begin_step(PyFrameObject* frame);
void end_step();
int step_depth();

}  // namespace terra::python
