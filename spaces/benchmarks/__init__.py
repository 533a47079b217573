"""Zero-training benchmark problems: pymoo's multi-objective test problems on integer grids.

Each space is a standard problem (ZDT1-3, DTLZ2) whose real variables are replaced by integers
in ``0..levels-1`` mapped evenly onto the problem's bounds. Objectives come from pymoo's own
``evaluate`` in microseconds, so strategies can be compared over thousands of trials.
"""

from nasplat.spaces.benchmarks.problems import (BENCHMARKS, DTLZ2Int, IntGridProblem, ZDT1Int,
                                                ZDT2Int, ZDT3Int)

__all__ = ["BENCHMARKS", "DTLZ2Int", "IntGridProblem", "ZDT1Int", "ZDT2Int", "ZDT3Int"]
