"""A store made by an older nasplat is upgraded in place and its studies resume."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from nasplat import load_study, run_study
from nasplat.store import SCHEMA_VERSION, Store, queries
from nasplat.store.tables import StrategyStateRow


def config(storage: str, trials: int) -> dict:
    return {"study": "s", "space": "toy_int", "strategy": "nsga2", "budget": {"trials": trials},
            "storage": storage, "seed": 3}


def downgrade_to_version_1(storage: str) -> None:
    """Remove what schema version 2 added, as a store written by version 1 lacks it."""
    engine = create_engine(storage)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_trials_study_finish_seq"))
        connection.execute(text("ALTER TABLE trials DROP COLUMN finish_seq"))
        connection.execute(text("ALTER TABLE strategy_states DROP COLUMN told_seq"))
        connection.execute(text("ALTER TABLE strategy_states DROP COLUMN version"))
        connection.execute(text("UPDATE nasplat_meta SET value = '1' "
                                "WHERE key = 'schema_version'"))
    engine.dispose()


def test_a_version_1_store_is_migrated_and_resumes(storage: str) -> None:
    run_study(config(storage, 12))
    before = [(t.number, t.genome_hash) for t in load_study("s", storage).trials()]
    downgrade_to_version_1(storage)

    store = Store(storage)  # opening it migrates it
    study = queries.get_study(store, "s")
    with store.session() as session:
        state = session.get(StrategyStateRow, study.id)
    assert state.told_seq == max(t.finish_seq for t in queries.trials(store, study.id))
    engine = create_engine(storage)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT value FROM nasplat_meta "
                                          "WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    assert int(version) == SCHEMA_VERSION

    summary = run_study(config(storage, 20))
    assert summary.counts["complete"] == 20
    after = load_study("s", storage).trials()
    assert [(t.number, t.genome_hash) for t in after[:12]] == before
    assert len({t.genome_hash for t in after}) == 20


def test_resumed_after_migration_as_if_never_stopped(tmp_path) -> None:
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    split = f"sqlite:///{tmp_path / 'split.db'}"
    run_study(config(whole, 20))
    run_study(config(split, 12))
    downgrade_to_version_1(split)
    run_study(config(split, 20))
    assert [t.genome_hash for t in load_study("s", whole).trials()] == \
        [t.genome_hash for t in load_study("s", split).trials()]
