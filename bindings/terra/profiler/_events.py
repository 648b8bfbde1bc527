"""The profiler's results (torch.autograd.profiler_util's names): FunctionEvent (one recorded
range), FunctionEventAvg (the ranges of one name together) and EventList (their list, with
key_averages, table and export_chrome_trace). Times are in microseconds, as in PyTorch."""
import collections
import json
import os


class FunctionEvent:
    """One recorded range: a record_function block or a profiler step. Its self time is its own
    time less that of the ranges directly nested in it on the same thread. As in PyTorch, the
    steps "ProfilerStep#N" are all named "ProfilerStep*" (one row in key_averages) and keep their
    number in trace_name (the name in Chrome traces)."""

    count = 1
    cuda_time_total = self_cuda_time_total = cuda_time = 0.0
    cpu_memory_usage = self_cpu_memory_usage = cuda_memory_usage = self_cuda_memory_usage = 0
    input_shapes = ()
    stack = ()
    is_async = False

    def __init__(self, id, name, thread, start_ns, end_ns, children_ns, category):
        self.id = id
        self.trace_name = name
        self.name = self.key = "ProfilerStep*" if name.startswith("ProfilerStep#") else name
        self.thread = thread
        self.start_us = start_ns / 1000
        self.end_us = end_ns / 1000
        self.cpu_time_total = self.cpu_time = (end_ns - start_ns) / 1000
        self.self_cpu_time_total = (end_ns - start_ns - children_ns) / 1000
        self.category = category

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
                f"cpu_time_total={self.cpu_time_total:.3f}us self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


class FunctionEventAvg:
    """The events of one key: their count and summed times; cpu_time is the average."""

    cuda_time_total = self_cuda_time_total = cuda_time = 0.0
    cpu_memory_usage = self_cpu_memory_usage = cuda_memory_usage = self_cuda_memory_usage = 0
    input_shapes = ()
    stack = ()

    def __init__(self, key):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    def add(self, event):
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} count={self.count} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


def format_time(time_us):
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_share(time_us, total_us):
    return f"{time_us * 100 / total_us:.2f}%" if total_us else "NaN"


class EventList(list):
    """A list of FunctionEvent (or FunctionEventAvg) rows."""

    def __init__(self, events=(), metadata=None):
        super().__init__(events)
        self._metadata = metadata or {}

    @property
    def self_cpu_time_total(self):
        return sum(event.self_cpu_time_total for event in self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        """One FunctionEventAvg per name, in the order the names first ended."""
        rows = collections.OrderedDict()
        for event in self:
            rows.setdefault(event.key, FunctionEventAvg(event.key)).add(event)
        return EventList(rows.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for event in self:
            total.add(event)
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        """PyTorch's summary table of the CPU columns: rows sorted by the attribute `sort_by`
        (largest first), at most `row_limit` of them (all when it is not positive)."""
        if not self:
            return ""
        rows = sorted(self, key=lambda row: getattr(row, sort_by), reverse=True) if sort_by else list(self)
        total_self_us = self.self_cpu_time_total
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        name_width = max(len(row.key) for row in rows) + 4
        if max_name_column_width is not None:
            name_width = min(name_width, max_name_column_width)
        headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        widths = [name_width] + [12] * (len(headers) - 1)
        line = "  ".join("-" * width for width in widths)

        def format_row(cells):
            return "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths))

        out = ([header, "=" * len(line)] if header else []) + [line, format_row(headers), line]
        for row in rows:
            name = row.key if len(row.key) < name_width - 1 else row.key[:name_width - 4] + "..."
            out.append(format_row([name, _format_share(row.self_cpu_time_total, total_self_us),
                                   format_time(row.self_cpu_time_total),
                                   _format_share(row.cpu_time_total, total_self_us), format_time(row.cpu_time_total),
                                   format_time(row.cpu_time), row.count]))
        out += [line, f"Self CPU time total: {format_time(total_self_us)}", ""]
        return "\n".join(out)

    def export_chrome_trace(self, path):
        """Writes the ranges as Chrome trace JSON (chrome://tracing, Perfetto, TensorBoard): one
        complete ("X") event each, with its start and duration in microseconds. A path ending in
        ".gz" is gzipped."""
        pid = os.getpid()
        trace = {"schemaVersion": 1, **self._metadata, "traceEvents": [
            {"ph": "X", "cat": event.category, "name": event.trace_name, "pid": pid, "tid": event.thread,
             "ts": event.start_us, "dur": event.cpu_time_total, "args": {}}
            for event in sorted(self, key=lambda event: event.start_us)]}
        if path.endswith(".gz"):
            import gzip
            with gzip.open(path, "wt") as f:
                json.dump(trace, f)
        else:
            with open(path, "w") as f:
                json.dump(trace, f)
