// Location keys, their descriptions, and the iteration marks Python gives the tracing session (see
// locations.hpp). The provider runs at every op call of a session, so its path is the frame walk
// and one hash lookup: no Python calls, no allocation once a key has been seen.
#include "bindings/src/locations.hpp"

#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "bindings/src/code_info.hpp"
#include "bindings/src/frames.hpp"
#include "bindings/src/hot_loop.hpp"
#include "engine/trace/record.hpp"

namespace terra::python {
namespace {

// Frames hashed when neither a hot loop nor a step bounds the walk.
constexpr int kDepthWithoutLoop = 16;

// Per frame, a cheap multiplicative step (FxHash's); once per key, splitmix64's finalizer, so
// that every input bit reaches every output bit.
uint64_t combine(uint64_t key, uint64_t value) { return (((key << 5) | (key >> 59)) ^ value) * 0x9e3779b97f4a7c15ULL; }

uint64_t finish(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct State {
  HotLoop hot;
  PyFrameObject* step_frame = nullptr;  // strong reference to the frame that entered the outermost step
  PyThreadState* step_thread = nullptr;
  int step_depth = 0;
};

// Never destroyed: it holds references to frames, not to be released after the interpreter is gone.
State& state() {
  static auto* s = new State();
  return *s;
}

// The frame that bounds the location keys of ops called on `thread`, if any.
PyFrameObject* bounding_frame(const State& s, PyThreadState* thread) {
  if (s.step_depth > 0) return s.step_thread == thread ? s.step_frame : nullptr;
  return s.hot.known() && s.hot.thread() == thread ? s.hot.frame() : nullptr;
}

struct Walk {
  uint64_t key = 0;
  bool reached_bound = false;
  int bound_offset = -1;  // the bounding frame's current offset, when reached
  PyFrameObject* called_from_bound = nullptr;  // borrowed: the frame the bounding frame called
};

// Hashes (code object, offset) of each frame from the innermost up to `bound` included; without
// a bound, or when it is not on this thread's stack, of the innermost kDepthWithoutLoop frames.
Walk walk_frames(PyThreadState* thread, PyFrameObject* bound) {
  uint64_t key = 0;
  uint64_t key_at_depth_limit = 0;
  int depth = 0;
  PyFrameObject* inner = nullptr;  // alive: it is executing
  for (FrameCursor f(thread); f; f.next()) {
    const int offset = f.offset();
    key = combine(combine(key, reinterpret_cast<uintptr_t>(f.code())), static_cast<uint64_t>(offset));
    if (f.frame() == bound) return {finish(key), true, offset, inner};
    inner = f.frame();
    if (++depth == kDepthWithoutLoop) {
      if (!bound) return {finish(key), false, -1};
      key_at_depth_limit = key;  // still looking for the bound
    }
  }
  return {finish(depth >= kDepthWithoutLoop ? key_at_depth_limit : key), false, -1};
}

// "model.py:12 in forward <- train.py:40": the innermost frame outside the terra package (the
// user's line; the innermost frame when all are Terra's), then the bounding frame's line.
std::string describe_stack(PyThreadState* thread, PyFrameObject* bound) {
  std::string innermost, user, outer;
  PyFrameObject* user_frame = nullptr;
  int depth = 0;
  for (FrameCursor f(thread); f && (bound || depth < kDepthWithoutLoop); f.next(), ++depth) {
    const CodeInfo& info = code_info(f.code());
    const std::string& where = file_and_line(f.code(), f.offset());
    if (innermost.empty()) innermost = where + " in " + info.function;
    if (user.empty() && !info.in_terra) {
      user = where + " in " + info.function;
      user_frame = f.frame();
    }
    if (f.frame() == bound) {
      if (f.frame() != user_frame) outer = where;
      break;
    }
  }
  const std::string& inner = user.empty() ? innermost : user;
  return outer.empty() ? inner : inner + " <- " + outer;
}

// Key -> description, filled when the provider first returns a key; read by the engine's messages
// and dumps, possibly from another thread. The provider's check for a new key reads a set of its
// own, guarded by the GIL, so that its path takes no lock.
class Descriptions {
 public:
  bool has(uint64_t key) const { return seen_.count(key) != 0; }  // GIL held
  void add(uint64_t key, std::string text) {                      // GIL held
    seen_.insert(key);
    std::lock_guard<std::mutex> lock(mutex_);
    texts_.emplace(key, std::move(text));
  }
  std::string get(uint64_t key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = texts_.find(key);
    return it == texts_.end() ? "<unknown location>" : it->second;
  }

 private:
  std::unordered_set<uint64_t> seen_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::string> texts_;
};

Descriptions& descriptions() {
  static auto* d = new Descriptions();
  return *d;
}

// Note [Backward keeps its location]: per thread, since each thread has its own frames.
struct BackwardLocation {
  bool active = false;  // in a Backward scope, and not in a PythonCallback one since
  bool known = false;   // `key` was walked in this scope
  uint64_t key = 0;
};
thread_local BackwardLocation backward_location;

}  // namespace

LocationScope::LocationScope(Kind kind)
    : saved_active_(backward_location.active), saved_known_(backward_location.known), saved_key_(backward_location.key) {
  backward_location = {kind == Backward, false, 0};
}
LocationScope::~LocationScope() { backward_location = {saved_active_, saved_known_, saved_key_}; }

trace::Location current_location() {
  // The hot loop cannot have gone round since the key was walked: no Python line ran.
  if (backward_location.known) return {backward_location.key, false};
  if (!PyGILState_Check()) return {};  // an op from a thread that is not running Python
  PyThreadState* thread = PyThreadState_Get();
  State& s = state();
  PyFrameObject* bound = bounding_frame(s, thread);
  Walk walk = walk_frames(thread, bound);
  bool new_iteration = false, left_loop = false;
  if (bound && bound == s.hot.frame()) {
    if (walk.reached_bound && s.hot.running_at(walk.bound_offset)) {
      new_iteration = s.hot.crossed_head(walk.bound_offset, walk.called_from_bound);
    } else {  // the loop finished or its function returned
      left_loop = true;
      s.hot.forget();
      bound = nullptr;
      walk = walk_frames(thread, nullptr);
    }
  }
  if (!descriptions().has(walk.key)) {
    descriptions().add(walk.key, describe_stack(thread, walk.reached_bound ? bound : nullptr));
  }
  if (backward_location.active) {
    backward_location.known = true;
    backward_location.key = walk.key;
  }
  return {walk.key, new_iteration, left_loop};
}

std::string describe_location_key(uint64_t key) { return descriptions().get(key); }

std::string current_user_line() {
  if (!PyGILState_Check()) return "<another thread>";
  const std::string* innermost = nullptr;
  for (FrameCursor f(PyThreadState_Get()); f; f.next()) {
    if (!code_info(f.code()).in_terra) return file_and_line(f.code(), f.offset());
    if (!innermost) innermost = &file_and_line(f.code(), f.offset());
  }
  return innermost ? *innermost : "<no Python frame>";
}

void install_location_hooks() {
  trace::set_location_provider(&current_location, /*sees_boundaries_when_dormant=*/true);
  trace::set_location_describer(&describe_location_key);
  trace::set_source_line_provider(&current_user_line);
}

void note_backward_call() {
  State& s = state();
  if (s.step_depth > 0) return;
  PyThreadState* thread = PyThreadState_Get();
  if (s.hot.known()) {
    if (s.hot.thread() != thread) return;
    const Walk walk = walk_frames(thread, s.hot.frame());
    if (walk.reached_bound && s.hot.running_at(walk.bound_offset)) {
      // Note [Dormant stretches] (engine/trace/iteration.cpp): ops do not ask the provider, so the
      // loop's boundaries are found here, once per backward() call.
      if (trace::dormant() && s.hot.crossed_head(walk.bound_offset, walk.called_from_bound))
        trace::dormant_iteration_began();
      return s.hot.saw_backward();
    }
    s.hot.forget();
    trace::wake_left_loop();
  }
  s.hot.discover(thread);
}

void begin_step(PyFrameObject* frame) {
  State& s = state();
  if (s.step_depth == 0) {
    trace::begin_iteration();
    s.hot.forget();  // the program marks its iterations itself
    Py_INCREF(frame);
    s.step_frame = frame;
    s.step_thread = PyThreadState_Get();
  }
  ++s.step_depth;
}

void end_step() {
  State& s = state();
  if (s.step_depth == 0) throw std::runtime_error("terra.step: ended a step that was not begun");
  if (--s.step_depth > 0) return;
  s.step_thread = nullptr;
  Py_CLEAR(s.step_frame);
  trace::end_iteration();
}

int step_depth() { return state().step_depth; }

}  // namespace terra::python
