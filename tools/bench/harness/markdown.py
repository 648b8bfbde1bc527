"""The Markdown section a run appends to RESULTS.md: how and where it ran, the engines and their
status, then steps per second with ratios, peak memory and final losses, one row per program."""


def _number(x):
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def _spread(s, unit=""):
    return f"{_number(s['median'])}{unit} ({_number(s['min'])}–{_number(s['max'])})"


def _speed_cell(result, is_baseline, labels):
    if result["steps_per_second"] is None:
        return f"error: {result['error']}"
    rate = _spread(result["steps_per_second"])
    if is_baseline:
        return rate
    if result["agrees"] is False:
        return f"losses disagree ({rate} steps/s)"
    if result["ratio_to_baseline"] is None:
        return f"{rate} steps/s (no baseline)"
    cell = f"**{_spread(result['ratio_to_baseline'], '×')}**, {rate} steps/s"
    if result["ratio_to_reference"]:
        cell += f"; {_spread(result['ratio_to_reference'], '×')} {labels[result['reference']]}"
    return cell


def _loss_cell(result):
    losses = result["final_losses"]
    if not losses:
        return "–"
    low, high = min(losses), max(losses)
    text = f"{low:.7g}" if low == high else f"{low:.7g}–{high:.7g}"
    return text + ("" if result["agrees"] is not False else " **disagrees**")


def _memory(result):
    return "–" if result["peak_rss_mb"] is None else f"{result['peak_rss_mb']:.0f}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _engine_status(engine):
    if engine["status"] == "ok":
        return "baseline" if engine["baseline"] else "ran"
    return f"{engine['status']}: {engine['reason']}"


def section(report, json_link, chart_link):
    m = report["machine"]
    ran = [e for e in report["engines"] if e["status"] == "ok"]
    baseline = next(e for e in ran if e["baseline"])
    intro = (
        f"## Programs under every engine — {m['date']}, commit {m['commit']} ({m['branch']})\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU: {m['gpu'] or 'none'}; "
        f"load average {' '.join(map(str, m['load_average']))} at the start; {m['python']}, PyTorch {m['torch']}; "
        f"{report['threads']} thread(s) for every engine. Mode {report['mode']}: warm-up rounds {report['warmup_rounds']}, "
        f"then timed rounds {report['repetitions']}, the engines interleaved in each. Steps/s is the median "
        f"(min–max) over the repetitions, timed by each program after its own warm-up steps; a ratio is the "
        f"engine's steps/s over {baseline['label']}'s in the same round, median (min–max): above 1 is faster. "
        f"Final losses must agree with {baseline['label']}'s within the program's relative tolerance, or the "
        f"ratio is withheld; an engine with a reference (the CUDA engines: PyTorch eager on CUDA, when it ran) "
        f"is held to the reference's losses instead, and its ratio to the reference follows its ratio to "
        f"{baseline['label']}. Raw data: `{json_link}`.\n\n"
        f"![ratios to {baseline['label']}]({chart_link})\n"
    )
    engines_table = _table(["engine", "status"], [[e["label"], _engine_status(e)] for e in report["engines"]])
    speed_rows, memory_rows, loss_rows = [], [], []
    engine_labels = {e["name"]: e["label"] for e in ran}
    for program in report["programs"]:
        results = program["results"]
        speed_rows.append([program["name"],
                           *(_speed_cell(results[e["name"]], e["baseline"], engine_labels) for e in ran)])
        memory_rows.append([program["name"], *(_memory(results[e["name"]]) for e in ran)])
        loss_rows.append([program["name"], f"{program['rtol']:g}", *(_loss_cell(results[e["name"]]) for e in ran)])
    labels = [e["label"] for e in ran]
    return "\n\n".join([
        intro,
        engines_table,
        "Steps per second (baseline) and ratio to the baseline:\n\n"
        + _table(["program", *(f"{label} steps/s" if e["baseline"] else label for label, e in zip(labels, ran))],
                 speed_rows),
        "Peak resident memory of the process (MB, median over repetitions):\n\n"
        + _table(["program", *labels], memory_rows),
        "Final losses (all repetitions; a range when they differ):\n\n"
        + _table(["program", "rtol", *labels], loss_rows),
    ]) + "\n"

