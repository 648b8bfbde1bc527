"""spawn and start_processes (torch.multiprocessing.spawn of PyTorch 1.13): run fn(i, *args) in
`nprocs` processes; the first one to fail stops the others and is reported by index, with the
child's traceback (ProcessRaisedException) or its exit code or signal (ProcessExitedException)."""
import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
import warnings


class ProcessException(Exception):
    __slots__ = ["error_index", "error_pid"]

    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A process ended by an exception raised in fn; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A process ended by a signal or a non-zero exit code without an exception from fn."""

    __slots__ = ["exit_code"]

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def _die_with_parent():
    """Linux: the child gets SIGINT when its parent dies (prctl PR_SET_PDEATHSIG), as in PyTorch."""
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGINT))


def _wrap(fn, i, args, error_queue):
    _die_with_parent()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent interrupted it
    except Exception:
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    def __init__(self, processes, error_queues):
        self.error_queues = error_queues
        self.processes = processes
        self.sentinels = {process.sentinel: index for index, process in enumerate(processes)}

    def pids(self):
        return [int(process.pid) for process in self.processes]

    def join(self, timeout=None):
        """Waits (up to `timeout` seconds) for processes to end. Returns True once all have ended
        well, False while some still run; when one failed, terminates the others and raises."""
        if not self.sentinels:
            return True
        failed = None
        for sentinel in multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout):
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                failed = index
                break
        if failed is None:
            return not self.sentinels
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
        raise self._failure(failed)

    def _failure(self, index):
        process = self.processes[index]
        if not self.error_queues[index].empty():
            msg = f"\n\n-- Process {index} terminated with the following error:\n" + self.error_queues[index].get()
            return ProcessRaisedException(msg, index, process.pid)
        if process.exitcode < 0:
            name = signal.Signals(-process.exitcode).name
            return ProcessExitedException(f"process {index} terminated with signal {name}", error_index=index,
                                          error_pid=process.pid, exit_code=process.exitcode, signal_name=name)
        return ProcessExitedException(f"process {index} terminated with exit code {process.exitcode}",
                                      error_index=index, error_pid=process.pid, exit_code=process.exitcode)


class SpawnContext(ProcessContext):
    def __init__(self, processes, error_queues):
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.")
        super().__init__(processes, error_queues)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """spawn with any start method ("spawn", "fork", "forkserver")."""
    context = multiprocessing.get_context(start_method)
    processes, error_queues = [], []
    for i in range(nprocs):
        error_queue = context.SimpleQueue()
        process = context.Process(target=_wrap, args=(fn, i, args, error_queue), daemon=daemon)
        process.start()
        processes.append(process)
        error_queues.append(error_queue)
    process_context = ProcessContext(processes, error_queues)
    if not join:
        return process_context
    while not process_context.join():
        pass


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Runs fn(i, *args) for i in range(nprocs), each in a new process. With join (the default),
    returns when all have ended, or raises ProcessRaisedException/ProcessExitedException naming the
    first that failed; without, returns the ProcessContext."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t torch.multiprocessing.start_processes(...)")
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
