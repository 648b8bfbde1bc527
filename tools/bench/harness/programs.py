"""Benchmark programs, read from tools/bench/programs.json: the script, its arguments for a quick
and for a full run, and the relative tolerance its final losses must agree within."""
import json
from dataclasses import dataclass


@dataclass
class Program:
    name: str
    file: str
    rtol: float
    quick: list
    full: list

    def args(self, mode):
        return self.quick if mode == "quick" else self.full


def load(path):
    with open(path) as f:
        return [Program(**entry) for entry in json.load(f)]
