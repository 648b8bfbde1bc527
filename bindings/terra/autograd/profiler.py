"""torch.autograd.profiler for Terra: the legacy `profile` context manager, `record_function` and
`emit_nvtx` (a no-op). Like terra.profiler, it records record_function ranges, not individual ops
(see `terra run --explain` and `--actor-trace` for those); use_cuda, record_shapes and the other
options are accepted and change nothing."""
from ..profiler._events import EventList, FunctionEvent, FunctionEventAvg
from ..profiler._recording import Recording, record_function, sync_traced_work

__all__ = ["profile", "record_function", "emit_nvtx", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile:
    """`with torch.autograd.profiler.profile() as prof:` records the block's ranges; afterwards
    prof.function_events, key_averages(), table() and export_chrome_trace() report them. With
    enabled=False it records nothing."""

    def __init__(self, enabled=True, *, use_cuda=False, record_shapes=False, with_flops=False, profile_memory=False,
                 with_stack=False, with_modules=False, use_kineto=False, use_cpu=True, experimental_config=None):
        self.enabled = enabled
        self.use_cuda = use_cuda
        self.record_shapes = record_shapes
        self.function_events = None
        self._recording = None

    def __enter__(self):
        if self.enabled:
            if self._recording is not None:
                raise RuntimeError("Profiler context manager is not reentrant")
            self._recording = Recording()
            self._recording.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            sync_traced_work()
            self._recording.stop()
            self.function_events = self._recording.events()
        return False

    def _finished_events(self):
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.function_events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._finished_events().key_averages()

    def table(self, sort_by=None, row_limit=100, **options):
        return self._finished_events().table(sort_by=sort_by, row_limit=row_limit, **options)

    def export_chrome_trace(self, path):
        self._finished_events().export_chrome_trace(path)

    def total_average(self):
        return self._finished_events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._finished_events().self_cpu_time_total

    def __str__(self):
        return self.table() if self.function_events is not None else "<unfinished profiler>"


class emit_nvtx:
    """A no-op context manager: Terra emits no NVTX ranges (the block runs as it would without it)."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled
        self.record_shapes = record_shapes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
