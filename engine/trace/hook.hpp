// Where the dispatcher hands op calls to the tracing session (engine/trace/session.hpp). Checked
// at every dispatch; with no session on this thread the cost is one thread-local load and a
// predictable branch.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/registry/op_def.hpp"
#include "engine/trace/suspend.hpp"

namespace terra::trace {

inline thread_local bool session_on_this_thread = false;
// Ops on this thread go through the session: its thread, except while the session is dormant
// (Note [Dormant stretches] in iteration.cpp), when they dispatch exactly as with no session.
inline thread_local bool intercept_on_this_thread = false;

// The location key of the op being intercepted (autograd nodes remember it), and, while a
// gradient formula runs, the key of the forward call it differentiates: ops issued from C++ have
// no Python frame of their own (DESIGN.md §7).
inline thread_local uint64_t current_op_location = 0;
inline thread_local uint64_t backward_of = 0;

struct BackwardOf {
  uint64_t saved;
  explicit BackwardOf(uint64_t forward_location) : saved(backward_of) { backward_of = forward_location; }
  ~BackwardOf() { backward_of = saved; }
};

inline bool intercepting() { return intercept_on_this_thread && suspend_depth == 0; }
// Whether this thread's session is tracing or replaying the current iteration (not outside the
// loop, nor in an untraced eager stretch, where ops run exactly as with no session).
bool recording_on_this_thread();

// Spans are queued on the graph actor. An op another thread runs eagerly may write what they read,
// so it waits for them first (sync()); the session's own thread settles before its eager ops.
inline std::atomic<bool> work_queued{false};
inline bool must_sync_first() {
  return work_queued.load(std::memory_order_relaxed) && !session_on_this_thread && running_deferred_work == 0;
}
void sync();

std::vector<Tensor> intercept(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
// Tensor.backward() on this thread while intercepting: `run` runs it through the autograd engine.
// A traced call runs so and is written down; a replayed one may be handed out whole instead (Note
// [Replaying backward] in backward_replay.cpp).
void backward_call(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph,
                   bool create_graph, const std::function<void()>& run);
// A wrapped number converted to another dtype on the host, without an op (dispatcher.cpp's
// cast_to and number_as_tensor): `to` is made from `from`'s value.
void note_host_conversion(const Tensor& from, const Tensor& to);
// The in-place form without autograd (with it, the dispatcher splits the call into ops first).
Tensor intercept_inplace(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
void intercept_out(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs);

}  // namespace terra::trace
