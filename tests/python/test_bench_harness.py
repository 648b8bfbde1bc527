"""tools/bench/run --quick, on the tiny regression program under PyTorch eager and Terra eager:
the JSON it writes has every field, so the benchmark tool cannot rot unnoticed. (The benchmark
itself is never part of the tests; this only checks that the tool works and what it records.)

The terra executable is $TERRA_CLI, else <repo>/build/tools/terra, as in test_cli.py.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
HARNESS = REPO / "tools" / "bench" / "run"

MACHINE_FIELDS = {"date", "commit", "branch", "cpu", "cores", "memory_gib", "load_average", "gpu", "python", "torch"}
ENGINE_FIELDS = {"name", "label", "baseline", "reference", "command", "status", "reason"}
RESULT_FIELDS = {"runs", "steps_per_second", "peak_rss_mb", "final_losses", "ratio_to_baseline", "reference",
                 "ratio_to_reference", "agrees", "error"}
RUN_FIELDS = {"steps", "seconds", "steps_per_second", "final_loss", "peak_rss_mb", "returncode", "error"}
SPREAD_FIELDS = {"median", "min", "max"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not (CLI.is_file() and os.access(CLI, os.X_OK)):
        pytest.fail(f"no terra executable at {CLI}: build first (ninja -C build) or set TERRA_CLI")
    out = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(["/usr/bin/python3", str(HARNESS), "--quick", "--programs", "regression",
                           "--engines", "torch-eager,terra-eager", "--repetitions", "2", "--threads", "1",
                           "--terra", str(CLI), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = list(out.glob("*-quick.json"))
    assert len(written) == 1, written
    chart = written[0].with_suffix(".png")
    assert chart.read_bytes().startswith(b"\x89PNG"), "no chart beside the JSON"
    return json.loads(written[0].read_text()), done.stdout


def test_run_settings_and_machine(report):
    data, _ = report
    assert data["mode"] == "quick" and data["repetitions"] == 2 and data["warmup_rounds"] == 0
    assert data["threads"] == 1
    assert set(data["machine"]) == MACHINE_FIELDS
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"]


def test_engines_listed_with_status(report):
    data, _ = report
    assert [e["name"] for e in data["engines"]] == ["torch-eager", "terra-eager"]
    for engine in data["engines"]:
        assert set(engine) == ENGINE_FIELDS
        assert engine["status"] == "ok", engine["reason"]
    assert [e["baseline"] for e in data["engines"]] == [True, False]


def test_every_result_field_recorded(report):
    data, _ = report
    (program,) = data["programs"]
    assert set(program) == {"name", "file", "args", "rtol", "results"}
    assert program["name"] == "regression" and program["rtol"] > 0
    assert set(program["results"]) == {"torch-eager", "terra-eager"}
    for name, result in program["results"].items():
        assert set(result) == RESULT_FIELDS
        assert result["error"] is None
        assert len(result["runs"]) == 2
        for run in result["runs"]:
            assert set(run) == RUN_FIELDS
            assert run["returncode"] == 0 and run["steps"] > 0 and run["seconds"] > 0
            assert run["peak_rss_mb"] > 10  # a Python process with numpy loaded
        assert set(result["steps_per_second"]) == SPREAD_FIELDS
        assert result["steps_per_second"]["min"] <= result["steps_per_second"]["median"] <= \
            result["steps_per_second"]["max"]
        assert len(result["final_losses"]) == 2
    terra = program["results"]["terra-eager"]
    assert set(terra["ratio_to_baseline"]) == SPREAD_FIELDS
    assert terra["agrees"] is True, (terra["final_losses"], program["results"]["torch-eager"]["final_losses"])


def test_markdown_table_printed(report):
    _, stdout = report
    assert "## Programs under every engine" in stdout
    assert "| regression |" in stdout


def test_an_engine_with_a_reference_is_held_to_its_losses():
    """The CUDA engines' losses are compared with PyTorch eager on CUDA (their reference), not with
    the CPU baseline, and their ratio to it is reported beside the ratio to the baseline."""
    sys.path.insert(0, str(REPO / "tools" / "bench"))
    from harness import child, markdown, summary

    def runs(rates, loss):
        return [child.Run(0, steps=100, seconds=100 / rate, final_loss=loss, peak_rss_mb=50.0) for rate in rates]

    cpu, torch_cuda, terra_cuda = runs([100, 110], 0.50), runs([200, 220], 0.52), runs([400, 440], 0.5201)
    against_cpu = summary.summarize_engine(terra_cuda, cpu, 1e-3)
    assert against_cpu["agrees"] is False and against_cpu["reference"] is None
    assert against_cpu["ratio_to_reference"] is None
    held = summary.summarize_engine(terra_cuda, cpu, 1e-3, "torch-cuda", torch_cuda)
    assert held["agrees"] is True and held["reference"] == "torch-cuda"
    assert held["ratio_to_baseline"]["median"] == pytest.approx(4.0)
    assert held["ratio_to_reference"] == {"median": pytest.approx(2.0), "min": pytest.approx(2.0),
                                          "max": pytest.approx(2.0)}
    cell = markdown._speed_cell(held, False, {"torch-cuda": "PyTorch eager, CUDA"})
    assert cell == "**4× (4–4)**, 420 (400–440) steps/s; 2× (2–2) PyTorch eager, CUDA"
