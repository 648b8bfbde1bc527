"""From the runs of one program to what the report says: median, min and max steps per second,
peak memory, ratios to the baseline taken pair by pair (the runs of one repetition round ran
back to back, so they saw the same machine load), and whether the final losses agree."""
import math
import statistics


def _spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else None


def losses_agree(losses, reference, rtol):
    return all(math.isclose(loss, reference, rel_tol=rtol, abs_tol=1e-12) for loss in losses)


def _ratios(runs, other_runs):
    return _spread([r.steps_per_second / b.steps_per_second for r, b in zip(runs, other_runs) if r.ok and b.ok])


def summarize_engine(runs, baseline_runs, rtol, reference=None, reference_runs=None):
    """runs, baseline_runs and reference_runs: one child.Run per repetition round, in the same order.
    With a reference (an engine's name), the losses must agree with its runs' instead of the
    baseline's, and the ratio to it is reported too."""
    good = [r for r in runs if r.ok]
    losses = [r.final_loss for r in good]
    compared_runs = reference_runs if reference else baseline_runs
    compared_losses = [r.final_loss for r in compared_runs if r.ok]
    agrees = None
    if losses and compared_losses:
        agrees = losses_agree(losses, statistics.median(compared_losses), rtol)
    errors = sorted({r.error for r in runs if not r.ok})
    return {
        "runs": [{"steps": r.steps, "seconds": r.seconds, "steps_per_second": r.steps_per_second,
                  "final_loss": r.final_loss, "peak_rss_mb": r.peak_rss_mb, "returncode": r.returncode,
                  "error": r.error} for r in runs],
        "steps_per_second": _spread([r.steps_per_second for r in good]),
        "peak_rss_mb": statistics.median([r.peak_rss_mb for r in good]) if good else None,
        "final_losses": losses,
        "ratio_to_baseline": _ratios(runs, baseline_runs),
        "reference": reference,
        "ratio_to_reference": _ratios(runs, reference_runs) if reference else None,
        "agrees": agrees,
        "error": "; ".join(errors) or None,
    }
