"""Optuna's samplers as nasplat strategies: ``optuna:tpe``, ``optuna:nsga2``, ``optuna:gp``,
``optuna:random``.

Each strategy keeps an in-memory Optuna study. ``ask`` asks it for a trial and suggests one
integer per variable within the space's ``int_bounds()``; ``tell`` reports the result (complete:
the objective values; failed or infeasible: ``TrialState.FAIL``, so that the samplers steer by
feasible results only: Optuna's constraint handling needs every trial's violation from the
first one on, which a strategy is not told for a study without constraints).

nasplat never evaluates a genome twice. When a sampler proposes a genome already evaluated, the
adapter tells Optuna the values that genome got (what Optuna itself would see with a cache of
evaluations) and asks again: a sampler whose model has settled on a known point (GP, late in a
study) learns that it is known and moves on, where telling it FAIL, which samplers ignore,
had it propose the same point again and again. A repeat of a failed or pending genome is told
FAIL.

The state (``state_dict``) is the Optuna study's finished trials, repeats included, with the
attributes their sampler gave them. The sampler is rebuilt before every proposal, seeded from
the study seed and the number of proposals so far, so a resumed study proposes what an
uninterrupted one would have, wherever Optuna itself is deterministic.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.errors import ConfigError, PluginError
from nasplat.objective import ObjectiveSpec
from nasplat.space import Genome, SearchSpace, has_capability
from nasplat.strategy import TrialResult

TRIES_PER_GENOME = 20
"""Proposals that repeat an evaluated genome are failed in Optuna and asked again, this many
times per genome wanted; then the engine is given fewer genomes (and stops if none come)."""


def _optuna() -> Any:
    """The optuna module, quiet; a clear error when it is not installed."""
    try:
        import optuna
    except ImportError:
        raise PluginError("the optuna:* strategies need the optuna package: "
                          "pip install 'nasplat[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    return optuna


class _OptunaStrategy:
    """Runs one Optuna sampler over a space of bounded integer vectors."""

    name: ClassVar[str]

    class Options(BaseModel):
        """The sampler takes no options here."""

        model_config = ConfigDict(extra="forbid")

    def __init__(self, space: SearchSpace, objectives: Sequence[ObjectiveSpec], seed: int = 0,
                 **options: Any) -> None:
        if not has_capability(space, "int_bounds"):
            raise ConfigError(
                f"strategy '{self.name}' needs a space with int_bounds(); space '{space.name}' "
                f"has genome kind '{space.kind}' and no int_bounds() telling the range of each "
                f"integer. Pick an int_vector or bit_mask space that has it (e.g. 'zdt1_int'), "
                f"or a strategy that uses the space's own operators (e.g. 'random')")
        self.optuna = _optuna()
        self.space, self.seed, self.options = space, seed, options
        self.bounds = [(int(lo), int(hi)) for lo, hi in space.int_bounds()]  # type: ignore[attr-defined]
        self.names = [o.name for o in objectives]
        dist = self.optuna.distributions.IntDistribution
        self.distributions = {f"x{i}": dist(lo, hi) for i, (lo, hi) in enumerate(self.bounds)}
        self.study = self.optuna.create_study(
            directions=["minimize" if o.direction == "min" else "maximize" for o in objectives],
            sampler=self._sampler(0, 0))
        self.pending: dict[str, list[Any]] = {}  # genome hash -> asked Optuna trials
        self.seen: set[str] = set()  # genomes told or asked: never proposed twice
        self.known: dict[str, list[float]] = {}  # genome hash -> its values, once complete
        self.proposals = 0

    def _make_sampler(self, seed: int) -> Any:
        raise NotImplementedError

    def _sampler(self, proposal: int, attempt: int) -> Any:
        """A fresh sampler seeded by (study seed, proposal, attempt): see the module docstring."""
        seed = int(np.random.SeedSequence([self.seed, proposal, attempt]).generate_state(1)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature warnings of some samplers
            return self._make_sampler(seed)

    # --- asking ------------------------------------------------------------------------------

    def ask(self, n: int) -> list[Genome]:
        """Up to ``n`` genomes the sampler proposes, none evaluated or pending already."""
        out: list[Genome] = []
        for _ in range(n):
            genome = self._ask_one()
            if genome is None:
                break
            out.append(genome)
        return out

    def _ask_one(self) -> Genome | None:
        for attempt in range(TRIES_PER_GENOME):
            self.study.sampler = self._sampler(self.proposals, attempt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = self.study.ask()
                genome = [trial.suggest_int(f"x{i}", lo, hi)
                          for i, (lo, hi) in enumerate(self.bounds)]
            digest = self.space.genome_hash(genome)
            if digest in self.seen:  # a repeat, which the engine would drop unevaluated
                if digest in self.known:
                    self.study.tell(trial, self.known[digest])
                else:
                    self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                continue
            self.seen.add(digest)
            self.pending.setdefault(digest, []).append(trial)
            self.proposals += 1
            return genome
        return None

    # --- telling -----------------------------------------------------------------------------

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Report results to Optuna: to the trial that proposed the genome, else as a new one."""
        for result in results:
            if result.genome is None:
                continue  # an invalid proposal the engine could not even store
            genome = [int(g) for g in result.genome]
            digest = self.space.genome_hash(result.genome)
            self.seen.add(digest)
            values = self._values(result)
            if values is not None:
                self.known[digest] = values
            waiting = self.pending.get(digest)
            if waiting:
                trial = waiting.pop(0)
                if not waiting:
                    del self.pending[digest]
                if values is None:
                    self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                else:
                    self.study.tell(trial, values)
            else:  # told again on resume, or proposed by another worker
                self._add(genome, values)
                self.proposals += 1

    # --- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The finished Optuna trials (parameters, values or ``None`` for FAIL, the sampler's
        attributes), the study's sampler attributes (NSGA-II's parent populations, which name
        trials by id: the rebuilt study gives its trials the same ids), the proposals made and
        the genomes seen (pending ones included). Optuna has no public getter or setter of a
        study's system attributes: its storage's are used."""
        finished = (self.optuna.trial.TrialState.COMPLETE, self.optuna.trial.TrialState.FAIL)
        trials = [{"params": [t.params[f"x{i}"] for i in range(len(self.bounds))],
                   "values": t.values if t.state == finished[0] else None,
                   "attrs": t.system_attrs}
                  for t in self.study.get_trials(deepcopy=False, states=finished)
                  if len(t.params) == len(self.bounds)]
        return {"trials": trials, "proposals": self.proposals, "seen": sorted(self.seen),
                "study_attrs": self.study._storage.get_study_system_attrs(self.study._study_id)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild the Optuna study from :meth:`state_dict`'s output."""
        kinds = self.optuna.trial.TrialState
        for item in state["trials"]:
            values = item["values"]
            self.study.add_trial(self.optuna.trial.create_trial(
                state=kinds.COMPLETE if values is not None else kinds.FAIL, values=values,
                params={f"x{i}": int(g) for i, g in enumerate(item["params"])},
                distributions=self.distributions, system_attrs=item["attrs"]))
            if values is not None:
                self.known[self.space.genome_hash([int(g) for g in item["params"]])] = values
        for key, value in state.get("study_attrs", {}).items():  # e.g. NSGA-II's populations
            self.study._storage.set_study_system_attr(self.study._study_id, key, value)
        self.proposals = int(state["proposals"])
        self.seen = set(state["seen"])

    def _values(self, result: TrialResult) -> list[float] | None:
        """The objective values of a complete trial, else ``None`` (told as FAIL)."""
        if result.status != "complete" or not all(n in result.values for n in self.names):
            return None
        return [float(result.values[n]) for n in self.names]

    def _add(self, genome: list[int], values: list[float] | None) -> None:
        state = self.optuna.trial.TrialState
        params = {f"x{i}": g for i, g in enumerate(genome)}
        if len(params) != len(self.distributions) or not all(
                self.distributions[k].low <= v <= self.distributions[k].high
                for k, v in params.items()):
            return  # not a point of this search space (an invalid genome): nothing to learn
        system_attrs = self._rebuilt_attrs() if values is not None else {}
        trial = self.optuna.trial.create_trial(
            state=state.COMPLETE if values is not None else state.FAIL, values=values,
            params=params, distributions=self.distributions, system_attrs=system_attrs)
        self.study.add_trial(trial)

    def _rebuilt_attrs(self) -> dict[str, Any]:
        """System attributes a sampler would have given the trial; none but for GA samplers."""
        return {}


class OptunaTPE(_OptunaStrategy):
    """Optuna's TPE sampler (multivariate), through nasplat's engine."""

    name = "optuna:tpe"

    class Options(BaseModel):
        """Options passed to ``optuna.samplers.TPESampler``."""

        model_config = ConfigDict(extra="forbid")
        n_startup_trials: int = Field(default=10, ge=1)

    def _make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.TPESampler(seed=seed, multivariate=True, **self.options)


class OptunaNSGA2(_OptunaStrategy):
    """Optuna's NSGA-II sampler, through nasplat's engine."""

    name = "optuna:nsga2"

    class Options(BaseModel):
        """Options passed to ``optuna.samplers.NSGAIISampler``."""

        model_config = ConfigDict(extra="forbid")
        population_size: int = Field(default=50, ge=2)

    def _make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.NSGAIISampler(seed=seed, **self.options)

    def _rebuilt_attrs(self) -> dict[str, Any]:
        """The generation NSGA-II would have put the trial in (``BaseGASampler``'s rule, for
        trials evaluated one after another): without it, told-again trials would belong to no
        generation and the resumed search would start from scratch."""
        key = self.study.sampler._get_generation_key()
        complete = self.study.get_trials(deepcopy=False,
                                         states=[self.optuna.trial.TrialState.COMPLETE])
        generations = [t.system_attrs.get(key, -1) for t in complete]
        latest = max(generations, default=0)
        latest = max(latest, 0)
        size = self.options.get("population_size", 50)
        return {key: latest if generations.count(latest) < size else latest + 1}


class OptunaGP(_OptunaStrategy):
    """Optuna's Gaussian-process sampler, through nasplat's engine (slow past a few hundred)."""

    name = "optuna:gp"

    class Options(BaseModel):
        """Options passed to ``optuna.samplers.GPSampler``."""

        model_config = ConfigDict(extra="forbid")
        n_startup_trials: int = Field(default=10, ge=1)

    def _make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.GPSampler(seed=seed, **self.options)


class OptunaRandom(_OptunaStrategy):
    """Optuna's random sampler, through nasplat's engine: checks the adapter itself."""

    name = "optuna:random"

    def _make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.RandomSampler(seed=seed)


OPTUNA_STRATEGIES = (OptunaTPE, OptunaNSGA2, OptunaGP, OptunaRandom)


@hookimpl
def nasplat_register_strategies(register: Any) -> None:
    """Register the optuna:* strategies (optuna itself is imported only when one is used)."""
    for cls in OPTUNA_STRATEGIES:
        register(cls)
