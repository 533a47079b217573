"""Surrogate reports in the store: written with the strategy state, read back in order, and a
store made before the ``surrogate_reports`` table existed still opens, reads and gets one."""

from __future__ import annotations

from sqlalchemy import inspect

from nasplat import run_study
from nasplat.store import Store, queries, writes
from nasplat.store.tables import SurrogateReportRow
from nasplat.surrogate_quality import SurrogateReport

BO = {"name": "bo", "options": {"initial": 6, "samples": 40, "mutants": 40, "children": 20,
                                "mc_samples": 8, "surrogate_report_every": 4,
                                "surrogate_options": {"models": 3, "n_estimators": 10}}}


def bo_study(storage: str, trials: int) -> None:
    run_study({"study": "s", "space": "zdt1_int", "strategy": BO, "budget": {"trials": trials},
               "storage": storage, "seed": 0})


def test_reports_read_back_by_objective_then_observations(storage: str) -> None:
    bo_study(storage, 2)
    store = Store(storage)
    study_id = queries.get_study(store, "s").id
    reports = [SurrogateReport("f2", 20, 5, 0.5, 0.6, 1.5, "xgboost"),
               SurrogateReport("f1", 20, 5, None, None, 0.0, "xgboost"),
               SurrogateReport("f1", 10, 3, -0.25, -0.5, 2.0, "lightgbm")]
    with store.transaction() as connection:
        writes.record_surrogate_reports_in(connection, study_id, reports)
        writes.record_surrogate_reports_in(connection, study_id, [])
    rows = queries.surrogate_reports(store, study_id)
    assert [(r.objective, r.observations, r.folds, r.kendall_tau, r.spearman_rho, r.rmse,
             r.surrogate) for r in rows] == [
        ("f1", 10, 3, -0.25, -0.5, 2.0, "lightgbm"), ("f1", 20, 5, None, None, 0.0, "xgboost"),
        ("f2", 20, 5, 0.5, 0.6, 1.5, "xgboost")]
    assert queries.surrogate_reports(store, study_id + 1) == []


def test_a_store_made_before_the_table_opens_reads_and_gets_reports(storage: str) -> None:
    bo_study(storage, 5)  # the initial design only: no refit, no report yet
    store = Store(storage)
    SurrogateReportRow.__table__.drop(store.engine)  # as a store made before this table
    store.close()

    store = Store(storage)  # opened as readers and resumed runs open it: without create
    study_id = queries.get_study(store, "s").id
    assert "surrogate_reports" not in inspect(store.engine).get_table_names()
    assert queries.surrogate_reports(store, study_id) == []

    bo_study(storage, 12)  # resumed: refits from 6 observations on, reports at 6 and 10
    rows = queries.surrogate_reports(store, study_id)
    assert [(r.objective, r.observations) for r in rows] == [
        ("f1", 6), ("f1", 10), ("f2", 6), ("f2", 10)]
