"""The benchmark harness behind tools/bench/run: engines, programs, child runs, summary, reports."""
