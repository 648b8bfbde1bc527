"""The --explain report (`terra run --explain`): what ran how, why Python had to wait, and why
paths fell back, from the session's stats (terra.debug.stats())."""


def _ms(seconds):
    return f"{seconds * 1e3:.1f} ms"


def _share(part, whole):
    return f"{100 * part / whole:.0f}%" if whole > 0 else "-"


def explain_report(stats, max_sync_points=10):
    mode = "co-executed" if stats["coexecuted"] else "replayed"
    lines = ["", "terra --explain", "=" * 15]
    lines.append(f"iterations: {stats['iterations_traced']} traced, {stats['iterations_replayed']} {mode}, "
                 f"{stats['iterations_eager']} eager (outside the loop, past the path bound, backing off, or where replay did not pay)")
    if stats["iterations_dormant"]:
        lines.append(f"  of the eager ones, {stats['iterations_dormant']} ran dormant: their ops skipped the session, "
                     "as with --mode eager")
    lines.append(f"ops {mode}: {stats['ops_replayed']} in {stats['spans_run']} spans")
    if stats["backward_replays"]:
        lines.append(f"  backward() calls replayed whole, without the autograd engine: {stats['backward_replays']} "
                     "(TERRA_REPLAY_BACKWARD=0 replays them op by op)")
    refusals = stats["backward_refusals"]
    if refusals:
        lines.append("  backward() calls that ran through the autograd engine, op by op:")
        for r in refusals:
            lines.append(f"    at {r['where']}: {r['why']}")
    fallbacks = stats["fallbacks"]
    lines.append(f"fallbacks: {len(fallbacks)}")
    for f in fallbacks:
        lines.append(f"  iteration {f['iteration']}: {f['reason']}")
        lines.append(f"      at {f['location']}")
    syncs = stats["sync_points"]
    waited = stats["wait_seconds"]
    lines.append(f"sync points (where Python waited for the graph), most time first: {_ms(waited)} in all")
    for p in syncs[:max_sync_points]:
        lines.append(f"  {_ms(p['seconds']):>10}  x{p['count']:<6} {p['why']:<28} at {p['where']}")
    if len(syncs) > max_sync_points:
        rest = sum(p["seconds"] for p in syncs[max_sync_points:])
        lines.append(f"  {_ms(rest):>10}  ({len(syncs) - max_sync_points} more places)")
    lines.append(f"compilation: {stats['plans_compiled']} plans in {_ms(stats['compile_seconds'])}"
                 + (" (on the graph actor, off Python's thread)" if stats["coexecuted"] else ""))
    if stats["side_by_side_runs"]:
        lines.append(f"kernels side by side on the CPU's threads: in {stats['side_by_side_runs']} of "
                     f"{stats['spans_run']} span runs (TERRA_SIDE_BY_SIDE=0 turns it off)")
    if stats["cuda_graph_captures"] or stats["cuda_graph_replays"]:
        lines.append(f"CUDA graphs: {stats['cuda_graph_captures']} captured, {stats['cuda_graph_replays']} replayed")
    total = stats["session_seconds"]
    graph = stats["graph_seconds"]
    python = max(total - waited, 0.0)
    lines.append(f"time: {total:.3f} s in the session; Python ran {python:.3f} s ({_share(python, total)}), "
                 f"waited {waited:.3f} s ({_share(waited, total)}); the graph ran spans {graph:.3f} s "
                 f"({_share(graph, total)})")
    if stats["coexecuted"] and graph > 0:
        # The graph's time during the waits is at most the waits' time, so this bounds what ran
        # beside Python from below (a wait also holds the graph's wake-up latency).
        beside = max(graph - waited, 0.0)
        lines.append(f"overlap: at least {beside:.3f} s of the graph's {graph:.3f} s ran while Python went on "
                     "(spans run minus time waited)")
    return "\n".join(lines) + "\n"
