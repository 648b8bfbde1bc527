"""A benchmark session: decide which engines can run here, then run every program under every
usable engine, interleaved (A B C A B C ...) so load changes on a shared machine hit all engines
alike; the first rounds are warm-up and are not kept."""
import os
from dataclasses import dataclass

from . import child, engines, summary

PROBE_ARGS = ["--steps", "1", "--warmup", "0"]


@dataclass
class Settings:
    tools: dict          # {"python": ..., "terra": ...}, substituted into engine templates
    programs_dir: str
    mode: str            # "quick" or "full": which argument list of programs.json is used
    repetitions: int
    warmup_rounds: int
    threads: int
    timeout: float


def child_env(threads):
    env = dict(os.environ)
    for name in ("TERRA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def _command(engine, program, args, settings):
    return engines.command_line(engine, settings.tools, os.path.join(settings.programs_dir, program.file), args)


def engine_status(engine, probe_program, settings, log):
    """("ok" | "skipped" | "unavailable" | "failed", reason). A probe is one tiny run: exit status 2
    is how `terra run` refuses a mode it does not have, so that engine is unavailable, not broken."""
    met, reason = engines.requirement_met(engine, settings.tools["python"])
    if not met:
        return "skipped", reason
    args = probe_program.args(settings.mode) + PROBE_ARGS
    result = child.run(_command(engine, probe_program, args, settings), child_env(settings.threads), settings.timeout)
    log(f"probe {engine.name}: {'ok' if result.ok else result.error}")
    if result.ok:
        return "ok", ""
    return ("unavailable" if result.returncode == child.UNAVAILABLE_STATUS else "failed"), result.error


def measure_program(program, usable, baseline, settings, log):
    """{engine name: summary} for one program; `usable` includes the baseline. An engine's
    reference (engines.py) counts when it is usable too."""
    runs = {engine.name: [] for engine in usable}
    for round_index in range(settings.warmup_rounds + settings.repetitions):
        for engine in usable:
            result = child.run(_command(engine, program, program.args(settings.mode), settings),
                               child_env(settings.threads), settings.timeout)
            kept = round_index >= settings.warmup_rounds
            log(f"{program.name} {engine.name} round {round_index + 1}{'' if kept else ' (warm-up)'}: "
                f"{f'{result.steps_per_second:.2f} steps/s, loss {result.final_loss:.6g}' if result.ok else result.error}")
            if kept:
                runs[engine.name].append(result)
    def reference(engine):
        return engine.reference if engine.reference in runs and engine.reference != engine.name else None

    return {e.name: summary.summarize_engine(runs[e.name], runs[baseline.name], program.rtol, reference(e),
                                             runs.get(reference(e)))
            for e in usable}
