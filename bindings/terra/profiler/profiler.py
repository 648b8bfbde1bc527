"""torch.profiler.profile for Terra: PyTorch 1.13's context manager, schedule state machine and
trace handler over Terra's range recording (_recording.py).

It records record_function ranges and one "ProfilerStep#N" range per step (with a schedule), not
individual ops: record_shapes, profile_memory, with_stack, with_flops and with_modules are
accepted and change nothing, and the CUDA activity adds no device events. For what each op and
compiled span does, use `terra run --explain` and `terra run --actor-trace FILE`."""
import enum
import os
import time
import warnings
from functools import partial

from ._events import EventList
from ._recording import Recording, record_function, sync_traced_work
from ._schedule import ProfilerAction, record_every_step


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


def supported_activities():
    from .. import cuda
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if cuda.is_available() else {ProfilerActivity.CPU}


class profile:
    """`with profile(...) as prof:` records the ranges of the block; with a `schedule`, `prof.step()`
    ends each step and the schedule decides which steps are recorded, calling `on_trace_ready(prof)`
    at the end of each active cycle (and when the block ends while recording)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, use_cuda=None):
        self.activities = set(activities) if activities else supported_activities()
        if use_cuda is not None:
            warnings.warn("use_cuda is deprecated, use activities argument instead")
            (self.activities.add if use_cuda else self.activities.discard)(ProfilerActivity.CUDA)
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.with_flops, self.with_modules = with_flops, with_modules
        self.schedule = schedule or record_every_step
        self.record_steps = schedule is not None  # step ranges appear only with a schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._step_range = None
        self._recording = None
        self._metadata = {}
        self._action_map = self._transitions()

    def _transitions(self):
        """PyTorch's table: what moving from one action to the next does."""
        A = ProfilerAction
        prepare, start, stop, ready = self._prepare_trace, self._start_trace, self._stop_trace, self._trace_ready
        return {
            (A.NONE, A.WARMUP): [prepare],
            (A.NONE, A.RECORD): [prepare, start],
            (A.NONE, A.RECORD_AND_SAVE): [prepare, start],
            (A.WARMUP, A.NONE): [partial(warnings.warn, "Incorrect schedule: WARMUP followed by NONE"), start, stop],
            (A.WARMUP, A.RECORD): [start],
            (A.WARMUP, A.RECORD_AND_SAVE): [start],
            (A.RECORD, A.NONE): [partial(warnings.warn, "Incorrect schedule: RECORD followed by NONE"), stop],
            (A.RECORD, A.WARMUP): [partial(warnings.warn, "Incorrect schedule: RECORD followed by WARMUP"), stop],
            (A.RECORD_AND_SAVE, A.NONE): [stop, ready],
            (A.RECORD_AND_SAVE, A.WARMUP): [stop, ready, prepare],
            (A.RECORD_AND_SAVE, A.RECORD): [stop, ready, prepare, start],
            (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [stop, ready, prepare, start],
            (A.WARMUP, None): [start, stop],
            (A.RECORD, None): [stop, ready],
            (A.RECORD_AND_SAVE, None): [stop, ready],
        }

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step_range(self.step_num)

    def stop(self):
        self._exit_step_range()
        self._transit(self.current_action, None)

    def step(self):
        """Ends the current step: the schedule's action for the next one takes effect."""
        self._exit_step_range()
        previous, finished = self.current_action, self.step_num
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        # PyTorch 1.13 names the range of the step that starts here after the one that ended.
        self._enter_step_range(finished)

    def _enter_step_range(self, number):
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{number}", category="cpu_op")
            self._step_range.__enter__()

    def _exit_step_range(self):
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _transit(self, previous, current):
        for action in self._action_map.get((previous, current), []):
            action()

    def _prepare_trace(self):
        self._recording = Recording()

    def _start_trace(self):
        self._recording.start()

    def _stop_trace(self):
        sync_traced_work()
        self._recording.stop()

    def _trace_ready(self):
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def events(self):
        """The ranges of the last recorded cycle, by start time."""
        return EventList(self._recording.events() if self._recording else (), self._metadata)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self.events().key_averages()

    def export_chrome_trace(self, path):
        self.events().export_chrome_trace(path)

    def add_metadata(self, key, value):
        self._metadata[key] = value

    def add_metadata_json(self, key, value):
        import json
        self._metadata[key] = json.loads(value)


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An on_trace_ready handler writing each cycle's Chrome trace into `dir_name` as
    `<worker_name>.<milliseconds>.pt.trace.json` (worker_name: host_pid by default), the files
    TensorBoard's profiler plugin reads."""

    def handler_fn(prof):
        import socket
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        suffix = ".pt.trace.json.gz" if use_gzip else ".pt.trace.json"
        stamp = int(time.time() * 1000)
        # PyTorch would overwrite a trace saved in the same millisecond; the next free one is used.
        while os.path.exists(os.path.join(dir_name, f"{worker}.{stamp}{suffix}")):
            stamp += 1
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker}.{stamp}{suffix}"))

    return handler_fn
