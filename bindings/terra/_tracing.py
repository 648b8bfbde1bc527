"""terra.replay (run a block or a function under a tracing session: traced, then replayed from
compiled plans) and terra.step (mark iterations explicitly). DESIGN.md §6-§8; the engine side is
engine/trace/session.hpp, the location keys and hot-loop detection bindings/src/locations.cpp."""
import atexit
import contextlib
import functools
import json
import os
import sys
import traceback

from ._C import _trace


class replay(contextlib.ContextDecorator):
    """`with terra.replay(): ...` or `@terra.replay()`: a tracing session for the block or for each
    call, whose compiled spans run synchronously on Python's thread. Options left out come from the
    environment (TERRA_STABLE_AFTER, TERRA_MAX_PATHS, TERRA_FUSION, TERRA_DUMP_GRAPH,
    TERRA_SPAN_OPS, TERRA_MAX_SPANS_AHEAD, TERRA_FORCE_DIVERGENCE, TERRA_REPLAY_MUST_PAY). With a dump_dir, the
    TraceGraph and the plans are written there when the session ends. With replay_must_pay (the
    default), a loop whose replayed iterations take longer than eager ones runs eagerly for
    stretches (Note [Replay must pay], engine/trace/pay_check.hpp); with dormant_stretches (the
    default; TERRA_DORMANT=0 turns it off), the ops of a long eager stretch skip the session
    (Note [Dormant stretches], engine/trace/session.cpp); with replay_backward (the default;
    TERRA_REPLAY_BACKWARD=0 turns it off), a backward() call is replayed whole, without running the
    autograd engine's formulas (Note [Replaying backward], engine/trace/backward_replay.cpp)."""

    _coexec = False

    def __init__(self, *, stable_after=None, max_paths=None, fusion=None, memory_planning=None, dump_dir=None,
                 span_ops=None, max_spans_ahead=None, replay_must_pay=None, dormant_stretches=None,
                 replay_backward=None):
        self.options = _trace.options_from_env()
        given = dict(stable_after=stable_after, max_paths=max_paths, fusion=fusion, memory_planning=memory_planning,
                     dump_dir=dump_dir, span_ops=span_ops, max_spans_ahead=max_spans_ahead,
                     replay_must_pay=replay_must_pay, dormant_stretches=dormant_stretches,
                     replay_backward=replay_backward)
        for name, value in given.items():
            if value is not None:
                setattr(self.options, name, value)

    def __enter__(self):
        (_trace.start_coexec if self._coexec else _trace.start)(self.options)
        return self

    def __exit__(self, *exc):
        _trace.stop()  # with a dump_dir, the session writes its dumps as it stops
        return False


class coexec(replay):
    """`with terra.coexec(): ...` or `@terra.coexec()`: co-execution (DESIGN.md §9). Python runs
    every line while the compiled spans of the loop run on the graph actor's thread; Python waits
    only where it reads a value. Same options as terra.replay."""

    _coexec = True


def run_until_exit(mode, explain=False, actor_trace=None):
    """`terra run` (mode "coexec" or "replay"): a session with the environment's options, from now
    until the interpreter exits (normally, by an exception, SystemExit or KeyboardInterrupt). With
    TERRA_REPLAY_STATS naming a file, the session's stats are written there as JSON at the end;
    with explain, the --explain report goes to stderr; with actor_trace, the actor trace is
    written there."""
    session = coexec() if mode == "coexec" else replay()
    if actor_trace:
        _trace.start_actor_trace()
    session.__enter__()
    atexit.register(_finish, session, os.environ.get("TERRA_REPLAY_STATS"), explain, actor_trace)


def _finish(session, stats_path, explain=False, actor_trace=None):
    # Deferred work that fails when the session drains it here (a bad index in the last steps,
    # with no read after it) fails the program, as the op would have in eager mode: the error is
    # printed as an uncaught exception and the exit status is 1, not an "Exception ignored" note.
    failed = False
    try:
        session.__exit__(None, None, None)
    except Exception:
        traceback.print_exc()
        failed = True
    stats = _trace.stats()
    if stats_path:
        with open(stats_path, "w") as f:
            json.dump(stats, f, indent=1)
    if actor_trace:
        events = _trace.write_actor_trace(actor_trace)
        print(f"terra: actor trace ({events} events) written to {actor_trace}", file=sys.stderr)
    if explain:
        from ._explain import explain_report
        print(explain_report(stats), file=sys.stderr, end="")
    if failed:  # registered first, this hook runs last: nothing the program registered is skipped
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


class _Step:
    """One explicit iteration: entered by a `with` block or around each call of a function."""

    def __enter__(self):
        _trace.begin_step(sys._getframe(1))  # the frame with the `with`: it bounds the location keys
        return self

    def __exit__(self, *exc):
        _trace.end_step()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def stepped(*args, **kwargs):
            with self:  # entered from this wrapper's frame: the same code and offset at every call
                return fn(*args, **kwargs)

        return stepped


def step(fn=None):
    """Marks the program's iterations: `@terra.step` (or `@terra.step()`) makes each call of the
    function one iteration, `with terra.step(): ...` makes the block one. Steps nest (the outermost
    is the iteration); while one is open, Terra does not look for iterations by itself."""
    return _Step() if fn is None else _Step()(fn)
