"""terra.profiler (torch.profiler of PyTorch 1.13): profile, record_function, schedule,
tensorboard_trace_handler, ProfilerActivity, ProfilerAction.

A real but limited profiler: it times record_function ranges and profiler steps (nested, with
self and total time) and writes Chrome traces; it does not record individual ops or device
kernels. Terra's own views of a run are `terra run --explain` (what ran compiled, what fell back
and why) and `terra run --actor-trace FILE` (a Chrome trace of the engine's actors)."""
from ._events import EventList, FunctionEvent, FunctionEventAvg
from ._recording import record_function
from ._schedule import ProfilerAction, schedule
from .profiler import ProfilerActivity, profile, supported_activities, tensorboard_trace_handler

__all__ = ["profile", "record_function", "schedule", "tensorboard_trace_handler", "ProfilerActivity",
           "ProfilerAction", "supported_activities", "EventList", "FunctionEvent", "FunctionEventAvg"]
