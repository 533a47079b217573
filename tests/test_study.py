"""The Python API: load_study, trial records, the DataFrame, list_studies."""

from __future__ import annotations

import pytest

from nasplat import list_studies, load_study, run_study
from nasplat.errors import StudyNotFound


def test_records_and_dataframe(storage: str) -> None:
    pd = pytest.importorskip("pandas")
    run_study({"study": "api", "space": "toy_genes", "budget": 8, "storage": storage})
    study = load_study("api", storage)
    assert study.objective_names == ["error", "params"]
    assert study.directions == [("error", "min"), ("params", "min")]
    trials = study.trials()
    assert len(trials) == 8 and all(t.duration is not None and t.duration >= 0 for t in trials)
    frame = study.trials_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 8
    assert list(frame["error"]) == [t.values["error"] for t in trials]
    assert study.config["space"]["name"] == "toy_genes"


def test_list_and_missing(storage: str) -> None:
    run_study({"study": "a", "space": "toy_int", "budget": 2, "storage": storage})
    run_study({"study": "b", "space": "toy_int", "budget": 3, "storage": storage})
    listed = {row.name: counts for row, counts in list_studies(storage)}
    assert listed == {"a": {"complete": 2}, "b": {"complete": 3}}
    with pytest.raises(StudyNotFound, match="Did you mean 'a'"):
        load_study("aa", storage)


def test_auto_name(storage: str) -> None:
    summary = run_study({"space": "toy_int", "budget": 2, "storage": storage})
    assert summary.study.name.startswith("toy_int-random-")
