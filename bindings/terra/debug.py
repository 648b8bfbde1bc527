"""terra.debug: what the tracing session did (stats, report, the TraceGraph and plans on disk), and
the location key of the current call stack as the session sees it."""
from ._C import _trace

__all__ = ["stats", "report", "dump_graph", "location"]


def stats():
    """The session's counters: iterations_eager, iterations_traced, iterations_replayed,
    divergences, ops_replayed, plans_compiled, compile_seconds, fused_groups, nvrtc_kernels (fused
    groups compiled for CUDA with NVRTC; all of them under TERRA_CHECK_NVRTC=1), cuda_graph_captures
    and cuda_graph_replays (span runs captured as CUDA graphs, and replayed; TERRA_CUDA_GRAPHS=0
    turns them off), side_by_side_runs (span runs whose independent kernels ran side by side on
    the CPU's threads; TERRA_SIDE_BY_SIDE=0 turns it off), and fallbacks (a list of dicts with
    iteration, reason and location, e.g. "model.py:12 in forward <- train.py:40")."""
    return _trace.stats()


def report():
    """A short human-readable summary of stats()."""
    return _trace.report()


def dump_graph(dir):
    """Writes the TraceGraph (trace_graph.json, trace_graph.dot) and the plans compiled so far."""
    _trace.dump(str(dir))


# (key, new_iteration, description) exactly as the session's location provider computes them for
# an op called where location() is called (it is the provider: calling it advances the iteration
# detection as an op call would).
location = _trace.location
