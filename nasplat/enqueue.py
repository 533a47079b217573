"""Queueing architectures you already know (a baseline, a published model) into a study."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nasplat.config import StudyConfig
from nasplat.engine import trial_seed
from nasplat.errors import InvalidGenome
from nasplat.problem import resolve
from nasplat.store import Store, queries, writes
from nasplat.store.writes import NewTrial


def parse_genomes(text: str, source: str) -> list[Any]:
    """Genomes from JSON text: one genome, or ``{"genomes": [...]}`` for several."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidGenome(f"{source}: genome JSON does not parse ({exc.msg} at line "
                            f"{exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise InvalidGenome(f"{source}: genome JSON nests too deeply to read") from None
    if isinstance(data, dict) and set(data) == {"genomes"} and isinstance(data["genomes"], list):
        return list(data["genomes"])
    return [data]


def enqueue_genomes(study: str, storage: str, genomes: Sequence[Any]) -> list[int]:
    """Queue ``genomes`` (their JSON form) in a study; return their trial numbers.

    Each is validated by the study's space first; nothing is queued unless all are valid.
    Genomes the study already has are skipped. The next ``nasplat run --study`` evaluates the
    queued trials before asking the strategy for more.
    """
    store = Store(storage)
    row = queries.get_study(store, study)
    space = resolve(StudyConfig.model_validate_json(row.config_json)).space
    new, seen = [], set()
    for i, data in enumerate(genomes):
        try:
            genome = space.from_json(data)
        except InvalidGenome as exc:
            raise InvalidGenome(f"genome {i} is not valid in space '{space.name}': {exc}"
                                ) from None
        digest = space.genome_hash(genome)
        if digest not in seen:
            seen.add(digest)
            new.append(NewTrial(json.dumps(space.to_json(genome)), digest, 0))
    assert row.id is not None
    known = queries.known_hashes(store, row.id, seen)
    new = [t for t in new if t.genome_hash not in known]
    seed = json.loads(row.config_json)["seed"]
    rows = writes.enqueue(store, row.id, new, seed_of=lambda number: trial_seed(seed, number))
    return [r.number for r in rows]
