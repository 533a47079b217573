"""Discrete versions of pymoo's ZDT and DTLZ problems: integer vectors, analytic objectives."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.objective import MetricObjective
from nasplat.space import Genome, SearchSpace, check

LEVELS = 17
"""Grid points per variable. Odd, so that the grid holds the middle of each range: DTLZ's
Pareto-optimal set has its distance variables at exactly 0.5 (Deb et al. 2005)."""


class GridOptions(BaseModel):
    """Options of a two-objective grid problem."""

    model_config = ConfigDict(extra="forbid")
    n_var: int = Field(default=10, ge=2, le=100, description="number of integer variables")
    levels: int = Field(default=LEVELS, ge=2, le=1025, description="values per variable")


class ManyObjectiveOptions(GridOptions):
    """Options of a grid problem with a selectable number of objectives."""

    n_obj: int = Field(default=3, ge=2, le=4, description="number of objectives")


class IntGridProblem(SearchSpace):
    """A pymoo test problem on an integer grid: gene ``g`` in 0..levels-1 is the real variable
    ``xl + g / (levels - 1) * (xu - xl)``. Subclasses name the pymoo problem."""

    kind = "int_vector"
    task = "benchmark"
    default_objectives: ClassVar[tuple[str, ...]] = ("f1", "f2")
    Options: ClassVar[type[BaseModel]] = GridOptions

    def __init__(self, n_var: int = 10, levels: int = LEVELS, **problem_args: Any) -> None:
        self.n_var, self.levels = n_var, levels
        self.problem = self._make_problem(n_var=n_var, **problem_args)
        self.n_obj = int(self.problem.n_obj)
        self.default_objectives = tuple(f"f{i + 1}" for i in range(self.n_obj))  # type: ignore[misc]
        self._low = np.asarray(self.problem.xl, dtype=float)
        self._span = (np.asarray(self.problem.xu, dtype=float) - self._low) / (levels - 1)

    @staticmethod
    def _make_problem(**kwargs: Any) -> Any:
        raise NotImplementedError

    # --- the genome --------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Genome:
        """Each variable uniform over its levels."""
        return [int(g) for g in rng.integers(0, self.levels, self.n_var)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """One variable moved to another level, chosen uniformly."""
        child = [int(g) for g in genome]
        i = int(rng.integers(self.n_var))
        step = int(rng.integers(1, self.levels))  # never 0: the level always changes
        child[i] = (child[i] + step) % self.levels
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """Uniform crossover: each variable from either parent."""
        take = rng.random(self.n_var) < 0.5
        return [int(x if t else y) for x, y, t in zip(a, b, take, strict=True)]

    def validate(self, genome: Genome) -> None:
        """A list of ``n_var`` integers in 0..levels-1."""
        check(isinstance(genome, (list, tuple)) and len(genome) == self.n_var,
              f"space '{self.name}': a genome is a list of {self.n_var} integers, "
              f"got {genome!r}")
        for i, g in enumerate(genome):
            check(isinstance(g, numbers.Integral) and not isinstance(g, bool)
                  and 0 <= g < self.levels,
                  f"space '{self.name}': variable {i} must be an integer in "
                  f"0..{self.levels - 1}, got {g!r}")

    def to_json(self, genome: Genome) -> Any:
        """The genome as a list of Python ints."""
        return [int(g) for g in genome]

    def from_json(self, data: Any) -> Genome:
        """The genome, validated."""
        self.validate(data)
        return [int(g) for g in data]

    def cardinality(self) -> float:
        """``levels ** n_var``."""
        return float(self.levels) ** self.n_var

    def int_bounds(self) -> list[tuple[int, int]]:
        """Inclusive bounds of each integer (for strategies that sample integers themselves)."""
        return [(0, self.levels - 1)] * self.n_var

    # --- what strategies see, and the analytic evaluation ------------------------------------

    def encode(self, genome: Genome) -> np.ndarray:
        """The integer vector itself."""
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """None: every objective is computed by ``evaluate``."""
        return {}

    def x(self, genome: Genome) -> np.ndarray:
        """The real variables the genome stands for."""
        return self._low + np.asarray(genome, dtype=float) * self._span

    def evaluate(self, genome: Genome) -> dict[str, float]:
        """``f1``, ``f2``, ... from pymoo's ``evaluate`` of the mapped real vector."""
        F = self.problem.evaluate(self.x(genome), return_values_of=["F"])
        return {f"f{i + 1}": float(v) for i, v in enumerate(np.ravel(F))}

    def objectives(self) -> list[MetricObjective]:
        """Every ``f_i``, minimised (as pymoo defines them)."""
        return [MetricObjective(name, "min", best=self.lowest(i))
                for i, name in enumerate(self.default_objectives)]

    def lowest(self, i: int) -> float | None:
        """The lowest value objective ``i`` can take (its declared ``best``), where the problem
        bounds it: every objective of ZDT1, ZDT2 and DTLZ2 is non-negative."""
        return 0.0

    def describe(self) -> str:
        """The docstring plus the grid actually used."""
        return (f"{super().describe()}\n\n{self.n_var} variables x {self.levels} levels, "
                f"{self.n_obj} objectives (f1..f{self.n_obj}, all minimised).")


class ZDT1Int(IntGridProblem):
    """ZDT1 on an integer grid: convex two-objective front (Zitzler, Deb & Thiele 2000)."""

    name = "zdt1_int"

    @staticmethod
    def _make_problem(**kwargs: Any) -> Any:
        from pymoo.problems.multi.zdt import ZDT1
        return ZDT1(**kwargs)


class ZDT2Int(IntGridProblem):
    """ZDT2 on an integer grid: concave two-objective front (Zitzler, Deb & Thiele 2000)."""

    name = "zdt2_int"

    @staticmethod
    def _make_problem(**kwargs: Any) -> Any:
        from pymoo.problems.multi.zdt import ZDT2
        return ZDT2(**kwargs)


class ZDT3Int(IntGridProblem):
    """ZDT3 on an integer grid: disconnected two-objective front (Zitzler, Deb & Thiele 2000)."""

    name = "zdt3_int"

    def lowest(self, i: int) -> float | None:
        """f1 is x1 >= 0; f2 has no simple bound (it goes below 0)."""
        return 0.0 if i == 0 else None

    @staticmethod
    def _make_problem(**kwargs: Any) -> Any:
        from pymoo.problems.multi.zdt import ZDT3
        return ZDT3(**kwargs)


class DTLZ2Int(IntGridProblem):
    """DTLZ2 on an integer grid: spherical front, 2 to 4 objectives (Deb et al. 2005)."""

    name = "dtlz2_int"
    default_objectives: ClassVar[tuple[str, ...]] = ("f1", "f2", "f3")
    Options: ClassVar[type[BaseModel]] = ManyObjectiveOptions

    def __init__(self, n_var: int = 10, levels: int = LEVELS, n_obj: int = 3) -> None:
        super().__init__(n_var=n_var, levels=levels, n_obj=n_obj)

    @staticmethod
    def _make_problem(**kwargs: Any) -> Any:
        from pymoo.problems.many.dtlz import DTLZ2
        return DTLZ2(**kwargs)


BENCHMARKS = (ZDT1Int, ZDT2Int, ZDT3Int, DTLZ2Int)
