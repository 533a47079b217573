"""Multi-objective Bayesian optimisation: a surrogate per objective and exact EHVI.

Each ``ask`` after the initial random design refits a surrogate (``gp`` by default, a Gaussian
process per objective; ``xgboost`` and ``lightgbm`` are the MoENAS-style tree ensembles; any
registered one by name) on the encodings of the evaluated genomes, generates candidates
(fresh samples, mutants and children of the current Pareto members), searches the acquisition
locally (on integer genomes, a coordinate ascent from Pareto members within a few genes of
them; elsewhere mutants of the best-scoring candidates), and proposes those with the highest
expected hypervolume improvement over the feasible Pareto front, times the probability of
feasibility once some results were infeasible. EHVI is exact: closed form under the
surrogate's independent normal predictions. An objective's declared ``best`` value (1 for an
accuracy, 0 for an error) bounds the improvement: a prediction beyond it counts as reaching
it, so the surrogate's uncertainty around a hard bound that the front already touches earns
nothing. MoENAS: Mecharbat et al., 2025, arXiv 2502.07422 (an XGBoost surrogate per objective
and expected hypervolume improvement).

Every ``surrogate_report_every`` observations, the refit is followed by a k-fold
cross-validation of the same surrogate on the same data (``nasplat.surrogate_quality``); the
engine stores the reports and ``nasplat surrogate STUDY`` shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nasplat import hookimpl
from nasplat import registry as plugin_registry
from nasplat.config import validate_options
from nasplat.errors import ConfigError
from nasplat.objective import ObjectiveSpec, to_minimise
from nasplat.plugins.strategies._acquisition import (expected_hv_improvement, greedy_batch,
                                                      improvement_boxes, nondominated,
                                                      probability_feasible, reference_point)
from nasplat.plugins.strategies._ascent import coordinate_ascent
from nasplat.space import Genome, SearchSpace, has_capability
from nasplat.strategy import TrialResult, rng_state, set_rng_state
from nasplat.surrogate import Surrogate
from nasplat.surrogate_quality import SurrogateReport, cross_validate

DEFAULT_SURROGATE = "gp"
EARLIER_DEFAULT = "xgboost"
"""The default surrogate before ``gp``: see ``Options.surrogate``."""

MAX_SAMPLE_TRIES = 100
"""Fresh samples drawn per wanted genome before giving up on finding an unseen one."""


class BayesianOptimisation:
    """Multi-objective BO: a surrogate per objective, exact EHVI, feasibility-weighted."""

    name = "bo"

    class Options(BaseModel):
        """Options of Bayesian optimisation; defaults keep one ask under a second at n = 500."""

        model_config = ConfigDict(extra="forbid")
        surrogate: str | None = None
        """A registered surrogate (``gp``, ``xgboost``, ``lightgbm`` or a plugin's). Unset:
        ``gp``, or ``xgboost`` where ``surrogate_options`` are set: configs that set them
        without naming a surrogate, and the studies stored with them, were written when
        ``xgboost`` was the default, and keep it."""
        surrogate_options: dict[str, Any] = Field(default_factory=dict)
        """Passed to the surrogate, checked by its ``Options`` (e.g. ``{"models": 8}``)."""
        initial: int = Field(default=10, ge=1)
        """Random genomes told before the surrogate takes over."""
        samples: int = Field(default=200, ge=0)
        """Fresh random candidates per ask."""
        mutants: int = Field(default=200, ge=0)
        """Candidates mutated from the Pareto members per ask."""
        children: int = Field(default=100, ge=0)
        """Candidates crossed over from pairs of Pareto members per ask."""
        parents: int = Field(default=8, ge=1)
        """At least this many parents: the front, topped up from the next fronts."""
        local_search: Literal["auto", "coordinate", "mutants"] = "auto"
        """How the acquisition is refined after scoring the candidates. ``coordinate``: climb
        it one gene at a time from Pareto members, every value of a gene at once (Optuna's GP
        sampler's search; needs ``int_bounds()``); ``mutants``: score mutants of the best
        candidates, ``refine_rounds`` times. ``auto``: ``coordinate`` where the space has
        ``int_bounds()``, else ``mutants``."""
        climbs: int = Field(default=10, ge=1)
        """Coordinate search: climbs, each from a Pareto member (a random subset where the
        front has more)."""
        climb_radius: int | None = Field(default=2, ge=1)
        """Coordinate search: genes a climb may change from its start (None: any). Far from
        the data a surrogate's uncertainty is largest at the corners of the integer box, where
        an unbounded climb ends; near the front it is informed."""
        sweeps: int = Field(default=4, ge=0)
        """Coordinate search: sweeps over the genes at most (a climb stops after a sweep
        without a move)."""
        sweep_genes: int = Field(default=64, ge=1)
        """Coordinate search: genes visited per sweep (a random subset where there are more)."""
        sweep_values: int = Field(default=64, ge=2)
        """Coordinate search: values tried per visited gene (likewise)."""
        refine_rounds: int = Field(default=2, ge=0)
        """Mutant search: rounds of mutants of the best candidates so far."""
        refine_top: int = Field(default=8, ge=1)
        """Mutant search: candidates mutated per round (the highest EHVI x P(feasible))."""
        refine_mutants: int = Field(default=20, ge=1)
        """Mutant search: mutants of each of them per round."""
        mc_samples: int = Field(default=0, ge=0)
        """0: exact EHVI (closed form over a box decomposition); more: a Monte Carlo estimate
        from this many draws of the predictive distribution per candidate."""
        surrogate_report_every: int = Field(default=10, ge=0)
        """Cross-validate the surrogate at a refit once this many more observations have
        values than at the last report (0: never). A report costs ``surrogate_report_folds``
        extra fits, in that ask (``benchmarks/bo_ask_time.py`` times them)."""
        surrogate_report_folds: int = Field(default=5, ge=2)
        """Folds of that cross-validation (leave-one-out while there are fewer observations)."""

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0,
                 **options: Any) -> None:
        self.space = space
        self.names = [o.name for o in objectives]
        self.directions = [o.direction for o in objectives]
        # known best values in minimisation form; -inf where an objective declares none
        bests = [getattr(o, "best", None) for o in objectives]
        self.best = np.array([-np.inf if b is None else to_minimise([b], [o.direction])[0]
                              for b, o in zip(bests, objectives, strict=True)])
        self.options = self.Options(**options)
        self.rng = np.random.default_rng(seed)
        self.surrogate = self.options.surrogate or (
            EARLIER_DEFAULT if self.options.surrogate_options else DEFAULT_SURROGATE)
        registered = plugin_registry.get().lookup("surrogates", self.surrogate)
        self._surrogate_cls = registered.cls
        model = getattr(registered.cls, "Options", None)
        if model is not None:
            validate_options(model, self.options.surrogate_options,
                             "strategy.options.surrogate_options")
        self._new_surrogate(0)  # a missing library fails now, with its pip line
        if self.options.local_search == "coordinate" and not has_capability(space, "int_bounds"):
            raise ConfigError(
                f"strategy 'bo': local_search 'coordinate' needs a space with int_bounds(); "
                f"space '{space.name}' (genome kind '{space.kind}') has none. Use "
                f"local_search 'mutants' or 'auto'")
        self._told = 0
        self._reported = 0  # observations with values at the last surrogate report
        self._reports: list[SurrogateReport] = []  # made since the engine last collected
        self._observations: list[dict[str, Any]] = []  # JSON: what the state must keep
        self._seen: list[str] = []  # hashes asked or told, in order
        self._seen_set: set[str] = set()
        self._genomes: list[Genome] = []  # rebuilt from _observations on load
        self._codes: list[np.ndarray] = []

    # --- ask / tell --------------------------------------------------------------------------

    def ask(self, n: int, pending: Sequence[Genome] = ()) -> list[Genome]:
        """``n`` unseen genomes: random while fewer than ``initial`` were told, then by EHVI.

        ``pending`` genomes (queued or running in other workers) are never proposed again,
        and their predicted values count as already on the front (Kriging believer), so a
        parallel batch spreads over the front instead of crowding where others already look.
        """
        for genome in pending:
            self._see(self.space.genome_hash(genome))
        with_values = [i for i, o in enumerate(self._observations) if o["values"] is not None]
        infeasible = any(o["violation"] > 0 for o in self._observations)
        if self._told < self.options.initial or (len(with_values) < 2 and not infeasible):
            return self._fresh(n)
        candidates = self._candidates()
        if not candidates:
            return self._fresh(n)
        picks = self._select(n, candidates, with_values, infeasible, pending)
        genomes = [candidates[i][0] for i in picks]
        for i in picks:
            self._see(candidates[i][1])
        return genomes

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Record results; failed ones only mark their genome as seen."""
        for result in results:
            self._told += 1
            if result.genome is None:
                continue
            try:
                digest = self.space.genome_hash(result.genome)
            except Exception:  # an invalid genome from a failed proposal may not hash
                continue
            self._see(digest)
            if result.status not in ("complete", "infeasible"):
                continue
            values = None
            if all(name in result.values for name in self.names):
                values = to_minimise([result.values[k] for k in self.names], self.directions)
            violation = 0.0
            if result.status == "infeasible":  # positive even if a plugin reported 0
                violation = max(float(result.violation), 1e-12)
            self._add({"genome": self.space.to_json(result.genome), "values": values,
                       "violation": violation}, result.genome)

    def surrogate_reports(self) -> list[SurrogateReport]:
        """The surrogate reports made since the last call (the engine stores them)."""
        reports, self._reports = self._reports, []
        return reports

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: generator, observations, seen hashes, and
        when the surrogate was last cross-validated (uncollected reports are not kept)."""
        return {"rng": rng_state(self.rng), "told": self._told, "reported": self._reported,
                "observations": list(self._observations), "seen": list(self._seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` left off (the surrogate refits on ask)."""
        set_rng_state(self.rng, state["rng"])
        self._told = state["told"]
        self._reported = state.get("reported", 0)  # absent from states saved before reports
        self._seen, self._seen_set = [], set()
        for digest in state["seen"]:
            self._see(digest)
        self._observations, self._genomes, self._codes = [], [], []
        for observation in state["observations"]:
            self._add(observation, self.space.from_json(observation["genome"]))

    # --- internals -----------------------------------------------------------------------------

    def _add(self, observation: dict[str, Any], genome: Genome) -> None:
        self._observations.append(observation)
        self._genomes.append(genome)
        self._codes.append(np.asarray(self.space.encode(genome), dtype=float))

    def _see(self, digest: str) -> None:
        if digest not in self._seen_set:
            self._seen_set.add(digest)
            self._seen.append(digest)

    def _new_surrogate(self, seed: int) -> Surrogate:
        return self._surrogate_cls(seed=seed, **self.options.surrogate_options)

    def _fresh(self, n: int) -> list[Genome]:
        """Up to ``n`` random genomes never seen before."""
        out = []
        for _ in range(n * MAX_SAMPLE_TRIES):
            if len(out) == n:
                break
            genome = self.space.sample(self.rng)
            digest = self.space.genome_hash(genome)
            if digest not in self._seen_set:
                self._see(digest)
                out.append(genome)
        return out

    def _front(self) -> list[Genome]:
        """The feasible Pareto members (none before a feasible result)."""
        feasible = [i for i, o in enumerate(self._observations)
                    if o["violation"] == 0 and o["values"] is not None]
        if not feasible:
            return []
        F = np.array([self._observations[i]["values"] for i in feasible])
        front = NonDominatedSorting().do(F, only_non_dominated_front=True)
        return [self._genomes[feasible[i]] for i in sorted(int(i) for i in front)]

    def _parents(self) -> list[Genome]:
        """The feasible Pareto members, topped up from the next fronts to ``parents``; with no
        feasible result yet, the least violating genomes."""
        feasible = [i for i, o in enumerate(self._observations)
                    if o["violation"] == 0 and o["values"] is not None]
        if not feasible:
            order = np.argsort([o["violation"] for o in self._observations], kind="stable")
            return [self._genomes[i] for i in order[: self.options.parents]]
        F = np.array([self._observations[i]["values"] for i in feasible])
        chosen: list[int] = []
        for front in NonDominatedSorting().do(F):
            chosen.extend(sorted(int(i) for i in front))
            if len(chosen) >= self.options.parents:
                break
        return [self._genomes[feasible[i]] for i in chosen]

    def _candidates(self) -> list[tuple[Genome, str]]:
        """Unseen, distinct genomes: fresh samples, mutants and children of the parents."""
        o, space, rng = self.options, self.space, self.rng
        parents = self._parents()
        found: dict[str, Genome] = {}

        def keep(genome: Genome) -> None:
            digest = space.genome_hash(genome)
            if digest not in self._seen_set:
                found.setdefault(digest, genome)

        for _ in range(o.mutants):
            keep(space.mutate(parents[int(rng.integers(len(parents)))], rng))
        for _ in range(o.children if len(parents) > 1 else 0):
            a, b = rng.choice(len(parents), size=2, replace=False)
            keep(space.crossover(parents[int(a)], parents[int(b)], rng))
        for _ in range(o.samples):
            keep(space.sample(rng))
        return [(genome, digest) for digest, genome in found.items()]

    def _report(self, X: np.ndarray, Y: np.ndarray, seed: int) -> None:
        """Cross-validate the surrogate just refitted on ``X``, ``Y`` when it is time to.

        Folds and fits are seeded with the refit's own seed: reporting draws nothing from the
        strategy's generator, so proposals are the same with reports on or off.
        """
        every = self.options.surrogate_report_every
        if every == 0 or len(Y) - self._reported < every:
            return
        self._reports.extend(cross_validate(
            lambda: self._new_surrogate(seed), X, Y, self.names,
            folds=self.options.surrogate_report_folds, seed=seed))
        self._reported = len(Y)

    def _violation_targets(self) -> np.ndarray:
        """Regression targets whose sign is feasibility: the violation where infeasible, minus
        the median violation where feasible (a margin either side of 0, since a boosted model
        fitted to exact zeros predicts small positive values there)."""
        violation = np.array([o["violation"] for o in self._observations])
        margin = float(np.median(violation[violation > 0]))
        return np.where(violation > 0, violation, -margin)[:, None]

    def _select(self, n: int, candidates: list[tuple[Genome, str]], with_values: list[int],
                infeasible: bool, pending: Sequence[Genome] = ()) -> list[int]:
        """Indices of the ``n`` candidates to propose, given the ``pending`` ones; refining
        the search appends the local moves it scored to ``candidates``."""
        seeds = self.rng.integers(2**31 - 1, size=2)
        m = len(self.names)
        feasibility: Surrogate | None = None
        if infeasible:
            feasibility = self._new_surrogate(int(seeds[1]))
            feasibility.fit(np.stack(self._codes), self._violation_targets())
        z = (self.rng.standard_normal((self.options.mc_samples, m))
             if self.options.mc_samples else None)
        if len(with_values) < 2:  # nothing to regress on yet: hunt for feasibility alone
            assert feasibility is not None
            feasible = self._feasible(feasibility, self._encode(candidates))
            return [int(i) for i in np.argsort(-feasible, kind="stable")[:n]]
        Y = np.array([self._observations[i]["values"] for i in with_values])
        codes = np.stack([self._codes[i] for i in with_values])
        model = self._new_surrogate(int(seeds[0]))
        model.fit(codes, Y)
        self._report(codes, Y, int(seeds[0]))
        # normalise so that the ideal is 0 and the reference point 1 in every objective
        low, ref = Y.min(axis=0), reference_point(Y)
        scale = ref - low
        front = [o["values"] for o in self._observations
                 if o["violation"] == 0 and o["values"] is not None]
        front_n = (np.array(front).reshape(-1, m) - low) / scale
        if len(pending):  # fantasise: the pending genomes as if observed at their means
            believed, _ = model.predict(
                np.stack([np.asarray(self.space.encode(g), dtype=float) for g in pending]))
            front_n = np.vstack([front_n, (believed - low) / scale])
        front_n = nondominated(front_n)

        def predict(genomes: list[tuple[Genome, str]]) -> tuple[np.ndarray, ...]:
            X = self._encode(genomes)
            mean, std = model.predict(X)
            feasible = (np.ones(len(X)) if feasibility is None
                        else self._feasible(feasibility, X))
            return (mean - low) / scale, std / scale, feasible

        floor = self._floors(low, scale)
        boxes = improvement_boxes(front_n, np.ones(m), floor)
        scored: list[tuple[np.ndarray, ...]] = []  # mean, std, P(feasible), EHVI per part

        def acquire(genomes: list[tuple[Genome, str]]) -> np.ndarray:
            mean, std, feasible = predict(genomes)
            ehvi = expected_hv_improvement(mean, std, front_n, np.ones(m), boxes=boxes)
            scored.append((mean, std, feasible, ehvi))
            return ehvi * feasible

        def add(moves: list[tuple[Genome, str]]) -> np.ndarray:
            """Append ``moves`` to the candidates; their acquisition."""
            candidates.extend(moves)
            return acquire(moves)

        score = acquire(candidates)
        if self._coordinate_search():
            self._climb(candidates, score, add)
        else:
            for _ in range(self.options.refine_rounds):
                moves = self._local_moves(candidates, score)
                if not moves:
                    break
                score = np.concatenate([score, add(moves)])
        mean, std, feasible, ehvi = (np.concatenate(parts) for parts in zip(*scored, strict=True))
        return greedy_batch(n, mean, std, front_n, np.ones(m), feasible, z,
                            ehvi=None if z is not None else ehvi, floor=floor)

    def _floors(self, low: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Where each objective's improvement stops, in normalised units (the observed best is
        0): its declared best value; -inf where it declares none, or where a result beat it
        (the declaration is wrong, and a floor at that result would stop the search from
        improving on it)."""
        return np.where(self.best <= low, (self.best - low) / scale, -np.inf)

    def _coordinate_search(self) -> bool:
        mode = self.options.local_search
        if mode == "auto":
            return has_capability(self.space, "int_bounds")
        return mode == "coordinate"

    def _climb(self, candidates: list[tuple[Genome, str]], acquisition: np.ndarray,
               add: Callable[[list[tuple[Genome, str]]], np.ndarray]) -> None:
        """Coordinate ascent of the acquisition from Pareto members; every unseen genome it
        tries is scored once, through ``add`` unless it is one of the ``candidates`` (scored
        ``acquisition``); seen genomes score -inf: they cannot be proposed."""
        space, o = self.space, self.options
        scores = {digest: float(a) for (_, digest), a in zip(candidates, acquisition, strict=True)}
        starts = self._front() or self._parents()
        if len(starts) > o.climbs:
            starts = [starts[int(i)] for i in
                      np.sort(self.rng.choice(len(starts), o.climbs, replace=False))]
        template = starts[0]

        def as_genome(genome: list[int]) -> Genome:
            """The climb's list of ints in the space's own type (a tuple, an array)."""
            if isinstance(template, np.ndarray):
                return np.asarray(genome, dtype=template.dtype)
            return tuple(genome) if isinstance(template, tuple) else genome

        known: dict[tuple[int, ...], tuple[Genome, str]] = {}  # a climb meets genomes again

        def score(genomes: list[list[int]]) -> np.ndarray:
            digests = []
            new: dict[str, Genome] = {}
            for genome in genomes:
                key = tuple(genome)
                if key not in known:
                    converted = as_genome(genome)
                    known[key] = (converted, space.genome_hash(converted))
                converted, digest = known[key]
                digests.append(digest)
                if digest not in scores and digest not in self._seen_set:
                    new.setdefault(digest, converted)
            if new:
                moves = [(g, d) for d, g in new.items()]
                for (_, digest), value in zip(moves, add(moves), strict=True):
                    scores[digest] = float(value)
            return np.array([scores.get(d, -np.inf) for d in digests])

        repair = getattr(space, "repair", None) if has_capability(space, "repair") else None
        coordinate_ascent([[int(v) for v in g] for g in starts],
                          space.int_bounds(),  # type: ignore[attr-defined]
                          score, self.rng, sweeps=o.sweeps, genes=o.sweep_genes,
                          values=o.sweep_values, radius=o.climb_radius, repair=repair)

    def _encode(self, candidates: list[tuple[Genome, str]]) -> np.ndarray:
        return np.stack([np.asarray(self.space.encode(g), dtype=float) for g, _ in candidates])

    @staticmethod
    def _feasible(model: Surrogate, X: np.ndarray) -> np.ndarray:
        mean, std = model.predict(X)
        return probability_feasible(mean[:, 0], std[:, 0])

    def _local_moves(self, candidates: list[tuple[Genome, str]], score: np.ndarray
                     ) -> list[tuple[Genome, str]]:
        """Unseen mutants of the best-scoring candidates, ``refine_mutants`` of each of the
        top ``refine_top``: one round of a local search of the acquisition."""
        o, space = self.options, self.space
        known = {digest for _, digest in candidates}
        moves: dict[str, Genome] = {}
        for i in np.argsort(-score, kind="stable")[: o.refine_top]:
            if score[i] <= 0:
                break
            for _ in range(o.refine_mutants):
                genome = space.mutate(candidates[i][0], self.rng)
                digest = space.genome_hash(genome)
                if digest not in self._seen_set and digest not in known:
                    moves.setdefault(digest, genome)
        return [(genome, digest) for digest, genome in moves.items()]


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register Bayesian optimisation."""
    register(BayesianOptimisation)
