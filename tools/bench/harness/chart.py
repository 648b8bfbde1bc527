"""A PNG bar chart of each engine's steps/s ratio to the baseline, per program, with the min–max
range of the ratios as error bars; programs where an engine failed or disagreed get no bar but a
mark saying so."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)


def draw(report, path):
    engines = [e for e in report["engines"] if e["status"] == "ok" and not e["baseline"]]
    baseline = next(e for e in report["engines"] if e["baseline"])
    programs = report["programs"]
    width = 0.8 / max(len(engines), 1)
    figure, axes = plt.subplots(figsize=(max(6, 1.3 * len(programs)), 4.5))
    for i, engine in enumerate(engines):
        label = engine["label"]  # given to the engine's first bar only, so the legend lists it once
        for j, program in enumerate(programs):
            result = program["results"][engine["name"]]
            ratio = result["ratio_to_baseline"]
            x = j - 0.4 + width * (i + 0.5)
            if ratio is None or result["agrees"] is False:
                axes.text(x, 0.02, "error" if ratio is None else "disagrees", rotation=90, ha="center", va="bottom",
                          fontsize=7, transform=axes.get_xaxis_transform())
                continue
            axes.bar(x, ratio["median"], width, color=f"C{i}", label=label,
                     yerr=[[ratio["median"] - ratio["min"]], [ratio["max"] - ratio["median"]]], capsize=2)
            label = None
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")  # ratios: 2x faster and 2x slower sit at the same distance from 1
    axes.set_xticks(range(len(programs)))
    axes.set_xticklabels([p["name"] for p in programs], rotation=20, ha="right")
    axes.set_ylabel(f"steps/s ÷ {baseline['label']} steps/s")
    m = report["machine"]
    axes.set_title(f"{report['mode']} run, {m['date']}, commit {m['commit']}, {m['cores']} cores", fontsize=9)
    if engines:
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
