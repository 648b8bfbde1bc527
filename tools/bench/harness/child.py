"""One run of one program under one engine, in a child process: its result line and its own peak
resident memory (from wait4's rusage, which covers that child alone)."""
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "programs"))
import result_line  # noqa: E402  (the programs' own module, shared so both sides agree on the format)

UNAVAILABLE_STATUS = 2  # what `terra run` exits with for a mode that does not exist (yet)


@dataclass
class Run:
    returncode: int
    steps: Optional[int] = None
    seconds: Optional[float] = None
    final_loss: Optional[float] = None
    peak_rss_mb: Optional[float] = None
    error: Optional[str] = None

    @property
    def ok(self):
        return self.error is None

    @property
    def steps_per_second(self):
        return self.steps / self.seconds if self.ok else None


def _wait(process, timeout):
    """Waits for the child and returns (exit status, rusage); kills it after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.monotonic() > deadline:
            process.send_signal(signal.SIGKILL)
        time.sleep(0.02)


def run(argv, env, timeout):
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, text=True)
        returncode, usage = _wait(process, timeout)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    peak_rss_mb = usage.ru_maxrss / 1024.0  # Linux reports kilobytes
    fields = result_line.parse(stdout)
    if returncode != 0 or fields is None:
        last = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-1]
        return Run(returncode, peak_rss_mb=peak_rss_mb, error=f"exit status {returncode}: {last}")
    return Run(returncode, fields["steps"], fields["seconds"], fields["final_loss"], peak_rss_mb)
