"""What Terra's profiler records: named ranges (record_function blocks and profiler steps), timed
with time.perf_counter_ns, nested per thread. Individual ops are not recorded (Terra's own tools
show them: `terra run --explain`, `--actor-trace`).

One Recording at a time collects ranges; a range counts when it begins and ends while the same
recording is active. Before a range ends, queued co-executed work is waited for (trace.sync) so
that it falls inside the range."""
import contextlib
import threading
import time

from .. import _C
from ._events import EventList, FunctionEvent

_active = None  # the Recording collecting ranges now, if any
_active_lock = threading.Lock()


def sync_traced_work():
    """Waits for the work a tracing session has queued (co-execution runs it on another thread)."""
    if _C._trace.active():
        _C._trace.sync()


class _OpenRange:
    __slots__ = ("name", "category", "start_ns", "children_ns")

    def __init__(self, name, category):
        self.name = name
        self.category = category
        self.children_ns = 0
        self.start_ns = time.perf_counter_ns()


class Recording:
    """The ranges of one trace cycle, from start() to stop()."""

    def __init__(self):
        self._events = []
        self._open = threading.local()  # each thread's stack of open ranges
        self._next_id = 0

    def start(self):
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError("The profiler is already enabled: profilers cannot be nested")
            _active = self

    def stop(self):
        global _active
        with _active_lock:
            if _active is self:
                _active = None

    def events(self):
        return EventList(sorted(self._events, key=lambda event: event.start_us))

    def _stack(self):
        if not hasattr(self._open, "ranges"):
            self._open.ranges = []
        return self._open.ranges

    def begin(self, name, category):
        handle = _OpenRange(name, category)
        self._stack().append(handle)
        return handle

    def end(self, handle):
        end_ns = time.perf_counter_ns()
        stack = self._stack()
        if handle not in stack:  # ended on another thread than it began: not recorded
            return
        position = stack.index(handle)
        del stack[position]
        if position > 0:
            stack[position - 1].children_ns += end_ns - handle.start_ns
        self._events.append(FunctionEvent(self._next_id, handle.name, threading.get_ident(), handle.start_ns, end_ns,
                                          handle.children_ns, handle.category))
        self._next_id += 1


class record_function(contextlib.ContextDecorator):
    """`with record_function("name"):` or `@record_function("name")`: a named range in the
    profile being recorded (a no-op when none is). Nested ranges count toward their parent's total
    time, not its self time."""

    def __init__(self, name, args=None, *, category="user_annotation"):
        self.name = name
        self.args = args
        self._category = category
        self._recording = self._handle = None

    def _recreate_cm(self):
        # A decorated function may recurse or run on several threads: one range per call.
        return record_function(self.name, self.args, category=self._category)

    def __enter__(self):
        self._recording = _active
        if self._recording is not None:
            self._handle = self._recording.begin(self.name, self._category)
        return self

    def __exit__(self, *exc):
        if self._handle is not None:
            sync_traced_work()
            if self._recording is _active:
                self._recording.end(self._handle)
            self._recording = self._handle = None
        return False
