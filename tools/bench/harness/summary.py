"""From the runs of one program to what the report says: median, min and max steps per second,
peak memory, ratios to the baseline taken pair by pair (the runs of one repetition round ran
back to back, so they saw the same machine load), and whether the final losses agree."""
import math
import statistics


def _spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else None


def losses_agree(losses, reference, rtol):
    return all(math.isclose(loss, reference, rel_tol=rtol, abs_tol=1e-12) for loss in losses)


def summarize_engine(runs, baseline_runs, rtol):
    """runs and baseline_runs: one child.Run per repetition round, in the same order."""
    good = [r for r in runs if r.ok]
    losses = [r.final_loss for r in good]
    baseline_losses = [r.final_loss for r in baseline_runs if r.ok]
    agrees = None
    if losses and baseline_losses:
        agrees = losses_agree(losses, statistics.median(baseline_losses), rtol)
    ratios = [r.steps_per_second / b.steps_per_second for r, b in zip(runs, baseline_runs) if r.ok and b.ok]
    errors = sorted({r.error for r in runs if not r.ok})
    return {
        "runs": [{"steps": r.steps, "seconds": r.seconds, "steps_per_second": r.steps_per_second,
                  "final_loss": r.final_loss, "peak_rss_mb": r.peak_rss_mb, "returncode": r.returncode,
                  "error": r.error} for r in runs],
        "steps_per_second": _spread([r.steps_per_second for r in good]),
        "peak_rss_mb": statistics.median([r.peak_rss_mb for r in good]) if good else None,
        "final_losses": losses,
        "ratio_to_baseline": _spread(ratios),
        "agrees": agrees,
        "error": "; ".join(errors) or None,
    }
