"""terra.profiler and terra.autograd.profiler: record_function ranges timed and nested (self time =
own time less the nested ranges'), key_averages rows and tables, Chrome traces, and the schedule's
state machine, compared with PyTorch 1.13's schedule and the steps its profiler records."""
import json
import time
import warnings

import pytest
import torch

import terra
from terra.profiler import ProfilerAction, profile, record_function, schedule

# time.sleep overshoots (more on a busy machine), never undershoots: totals are checked from below
# and loosely from above.
SLACK_US = 40_000


def row(prof, key):
    return next(r for r in prof.key_averages() if r.key == key)


def test_nested_ranges_have_total_and_self_times():
    with profile() as prof:
        with record_function("outer"):
            time.sleep(0.02)
            with record_function("inner"):
                time.sleep(0.03)
    outer, inner = row(prof, "outer"), row(prof, "inner")
    assert (outer.count, inner.count) == (1, 1)
    assert 30_000 <= inner.cpu_time_total < 30_000 + SLACK_US
    assert inner.self_cpu_time_total == inner.cpu_time_total
    assert 50_000 <= outer.cpu_time_total < 50_000 + SLACK_US
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - inner.cpu_time_total)
    assert 20_000 <= outer.self_cpu_time_total < 20_000 + SLACK_US


def test_counts_averages_and_the_decorator():
    @record_function("fib")
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    with profile() as prof:
        for _ in range(3):
            with record_function("sleep"):
                time.sleep(0.005)
        fib(5)
    sleep = row(prof, "sleep")
    assert sleep.count == 3 and sleep.cpu_time == pytest.approx(sleep.cpu_time_total / 3)
    fib_row = row(prof, "fib")
    assert fib_row.count == 15  # one range per call, recursion included
    events = [e for e in prof.events() if e.name == "fib"]
    assert sum(e.self_cpu_time_total for e in events) == pytest.approx(fib_row.self_cpu_time_total)
    top = max(events, key=lambda e: e.cpu_time_total)
    assert top.cpu_time_total == pytest.approx(fib_row.self_cpu_time_total, rel=1e-9, abs=1e-6)


def test_ranges_outside_the_profiler_are_not_recorded():
    with record_function("before"):
        pass
    with record_function("straddles"):
        with profile() as prof:
            with record_function("inside"):
                pass
    with record_function("after"):
        pass
    assert [r.key for r in prof.key_averages()] == ["inside"]


def test_table_sorts_limits_and_totals():
    with profile() as prof:
        for name, seconds in [("short", 0.001), ("long", 0.02), ("long", 0.02)]:
            with record_function(name):
                time.sleep(seconds)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=1)
    lines = table.splitlines()
    assert "Self CPU %" in lines[1] and "# of Calls" in lines[1]
    assert lines[3].split()[0] == "long" and lines[3].split()[-1] == "2"
    assert "short" not in table and lines[-1].startswith("Self CPU time total: ")
    everything = prof.key_averages().table(sort_by="count", row_limit=-1)
    assert [line.split()[0] for line in everything.splitlines()[3:5]] == ["long", "short"]


def test_chrome_trace_holds_the_ranges(tmp_path):
    with profile() as prof:
        with record_function("a"):
            with record_function("b"):
                time.sleep(0.002)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert [e["name"] for e in events] == ["a", "b"]
    a, b = events
    assert all(e["ph"] == "X" for e in events) and a["tid"] == b["tid"]
    assert a["ts"] <= b["ts"] and b["ts"] + b["dur"] <= a["ts"] + a["dur"] and b["dur"] >= 2000


@pytest.mark.parametrize("args", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1, repeat=2),
                                  dict(wait=2, warmup=1, active=3, repeat=1, skip_first=3),
                                  dict(wait=1, warmup=0, active=1, repeat=3)])
def test_schedule_actions_match_torch(args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = schedule(**args)
        theirs = torch.profiler.schedule(**args)
    no_warmup = [] if args["warmup"] else ["Profiler won't be using warmup, this can skew profiler results"]
    assert [str(w.message) for w in caught] == no_warmup * 2
    assert [ours(i).name for i in range(40)] == [theirs(i).name for i in range(40)]
    assert ProfilerAction.RECORD_AND_SAVE.value == torch.profiler.ProfilerAction.RECORD_AND_SAVE.value


def steps_per_trace(lib, steps, **schedule_args):
    """The step numbers each on_trace_ready call sees, and the number of 'work' ranges in each."""
    traces = []

    def ready(prof):
        names = [e.trace_name for e in prof.events() if e.name == "ProfilerStep*"]
        work = sum(1 for e in prof.events() if e.name == "work")
        traces.append((sorted(names), work))

    sched = lib.profiler.schedule(**schedule_args) if schedule_args else None
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU], schedule=sched,
                              on_trace_ready=ready) as prof:
        for _ in range(steps):
            with lib.profiler.record_function("work"):
                pass
            prof.step()
    return traces


@pytest.mark.parametrize("steps, args", [(10, dict(wait=1, warmup=1, active=2, repeat=2)),
                                         (12, dict(wait=1, warmup=1, active=2, skip_first=1)),
                                         (6, dict(wait=0, warmup=1, active=1)),
                                         (3, {})])
def test_profiler_steps_and_trace_ready_match_torch(steps, args):
    assert steps_per_trace(terra, steps, **args) == steps_per_trace(torch, steps, **args)


def test_tensorboard_handler_writes_one_trace_per_cycle(tmp_path):
    handler = terra.profiler.tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w")
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=3), on_trace_ready=handler) as prof:
        for _ in range(8):
            with record_function("work"):
                pass
            prof.step()
    files = sorted((tmp_path / "tb").iterdir())
    assert len(files) == 3 and all(f.name.startswith("w.") and f.name.endswith(".pt.trace.json") for f in files)
    for f in files:
        names = [e["name"] for e in json.loads(f.read_text())["traceEvents"]]
        assert names[0].startswith("ProfilerStep#") and names[1:] == ["work"]


def test_profilers_do_not_nest():
    with profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            with profile():
                pass


def test_a_tracing_session_is_synced_before_a_range_ends(monkeypatch):
    import terra.profiler._recording as recording
    calls = []

    class FakeTrace:
        @staticmethod
        def active():
            return True

        @staticmethod
        def sync():
            calls.append("sync")

    monkeypatch.setattr(recording, "_C", type("FakeC", (), {"_trace": FakeTrace}))
    with profile():
        with record_function("r"):
            pass
        assert calls == ["sync"]
    assert calls == ["sync", "sync"]  # and before the profile's end


def test_record_function_runs_in_a_real_coexec_session():
    x = terra.ones(4)
    with terra.coexec():
        with profile() as prof:
            for _ in range(3):
                with record_function("iteration"):
                    x = (x * 2).sin()
    assert row(prof, "iteration").count == 3
    assert x.shape == (4,)


def test_autograd_profiler_profile_and_emit_nvtx():
    import terra.autograd.profiler as legacy
    assert terra.autograd.profiler is legacy and legacy.record_function is record_function
    with legacy.profile(use_cuda=False, record_shapes=True) as prof:
        with legacy.record_function("a"):
            time.sleep(0.002)
    assert [e.key for e in prof.key_averages()] == ["a"] and prof.function_events[0].cpu_time_total >= 2000
    assert "Self CPU time total" in prof.table(sort_by="self_cpu_time_total")
    with legacy.profile(enabled=False) as off:
        with legacy.record_function("a"):
            pass
    with pytest.raises(RuntimeError, match="didn't finish"):
        off.key_averages()
    with legacy.emit_nvtx():
        assert terra.ones(1).item() == 1.0


def test_supported_activities_and_use_cuda():
    expected = {terra.profiler.ProfilerActivity.CPU}
    if terra.cuda.is_available():
        expected.add(terra.profiler.ProfilerActivity.CUDA)
    assert terra.profiler.supported_activities() == expected
    with pytest.warns(UserWarning, match="use_cuda is deprecated"):
        prof = profile(use_cuda=True)
    assert terra.profiler.ProfilerActivity.CUDA in prof.activities
