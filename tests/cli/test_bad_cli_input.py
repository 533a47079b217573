"""``nasplat`` command lines with bad input, property-based: study names with quotes and SQL
fragments, random option values, broken storage URLs, config files and genome JSON, for every
command, on SQLite and PostgreSQL. Each ends in exit code 0 or in one clean ``Error: ...``
(exit code 2, no traceback), and the store changes only as a successful command says."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Collection, Iterator
from contextlib import chdir, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from bad_input import (JSON_VALUES, SQL_FRAGMENTS, STUDY, assert_clean, assert_clean_error,
                       files_in, near_genomes, prepared_store, snapshot)
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from nasplat.cli import cli, printable
from nasplat.problem import instantiate

GENOME_SPACES = ["zdt1_int", "dtlz2_int", "resnet_genome", "rnn_cell", "moe_mobilevit",
                 "dense_prune", "toy_int", "toy_mask", "toy_genes", "toy_cell"]
EMPTY_STUDIES = {f"q-{space}": space for space in GENOME_SPACES}
"""A study per space, with no trials, to enqueue genomes into."""
TAKEN = {STUDY, *EMPTY_STUDIES}

SETTINGS = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

ARG_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                   max_size=30)
"""What a shell can pass as one argument: any text but NUL (argv cannot hold it) and lone
surrogates (bytes that are not UTF-8; see ``test_an_argument_that_is_not_utf8``)."""

NAMES = st.one_of(
    st.sampled_from(SQL_FRAGMENTS), ARG_TEXT,
    st.builds(lambda text, n: (text or "é") * n, ARG_TEXT, st.integers(50, 400)),
    st.sampled_from(["s ", " s", "S", "s\n", "q-toy_int;", "q-toy_int' --", "ß", "名前", "😀",
                     "a\u202eb", "\u200b", "nul\\x00", "-", "--", "--help", "-s"]),
).filter(lambda name: name not in TAKEN)
"""Study names that name no study."""

VALUES = st.one_of(ARG_TEXT, st.sampled_from(
    ["", " ", "-1", "0", "1", "2", "1.5", "1e3", "nan", "inf", "-inf", "x", "table", "csv",
     "json", "yaml", "complete", "failed", "running", "queued", "pareto", "parallel",
     "hypervolume", "curves", "error", "params", "error,params", "f1,f2", ",", ",,", "toy_int",
     "zdt1_int", "random", "nsga2", "bo", "nope", "9" * 30, "[1]", "{}", "null", *SQL_FRAGMENTS]))
"""Option values: junk, and now and then one that works."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    """Study ``s`` with five finished trials, and an empty study per space."""
    with prepared_store(request.param, tmp_path_factory.mktemp("cli"), EMPTY_STUDIES) as url:
        yield url


def rows(url: str) -> dict[str, Any]:
    """The rows and schema of the store (a refused command may still have spent a
    PostgreSQL sequence number, on an INSERT that failed)."""
    return snapshot(url, sequences=False)


@contextmanager
def _fresh_folder(tmp_path: Path) -> Iterator[Path]:
    """A new empty working folder inside ``tmp_path`` for one command, removed after."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder, chdir(folder):
        yield Path(folder)


def _invoke(runner: CliRunner, tmp_path: Path, args: list[str]) -> tuple[Result, set[Path]]:
    """Run ``nasplat ARGS`` in a fresh working folder (where relative outputs land); return
    the result and the files it left there."""
    with _fresh_folder(tmp_path) as folder:
        result = runner.invoke(cli, args)
        return result, files_in(folder)


def _file_name(text: str, suffix: str = "") -> str:
    """A file name made of ``text`` that stays inside the working folder."""
    return (re.sub(r"[/\\]", "_", text).strip(".") or "out")[:60] + suffix


def _unchanged_but(before: dict[str, Any], after: dict[str, Any],
                   added: Collection[str] = (), changed: Collection[str] = ()) -> None:
    """The store after a command: the tables in ``added`` only gained rows, those in
    ``changed`` may differ; every other row and the schema are as they were."""
    for key, kept in before.items():
        if key in changed:
            continue
        if key in added:
            missing = set(kept) - set(after[key])
            assert not missing, f"{key} lost rows: {sorted(missing)[:3]}"
        else:
            assert after[key] == kept, f"{key} changed"


# --- study names -------------------------------------------------------------------------------

STUDY_COMMANDS = {  # the arguments that name study N, after `nasplat CMD --storage URL`
    "trials": lambda n: ["--", n],
    "pareto": lambda n: ["--", n],
    "plot": lambda n: ["--out", "x.png", "--", n],
    "export": lambda n: ["--trial", "0", "--out", "out", "--", n],
    "report": lambda n: ["--out", "r.html", "--", n],
    "surrogate": lambda n: ["--", n],
    "enqueue": lambda n: ["--genome", "[1, 2]", "--", n],
    "worker": lambda n: ["--quiet", "--study", n],
}


@settings(SETTINGS, max_examples=40)
@given(command=st.sampled_from(sorted(STUDY_COMMANDS)), name=NAMES)
@example(command="trials", name="'; DROP TABLE trials; --")
@example(command="enqueue", name="s'; UPDATE trials SET status = 'failed' WHERE '1'='1")
@example(command="worker", name="Robert'); DROP TABLE studies;--")
@example(command="pareto", name="\x1b[2J\r")  # was printed raw: cleared the terminal
def test_a_study_that_does_not_exist_is_named(runner: CliRunner, store_url: str,
                                              tmp_path: Path, command: str, name: str) -> None:
    before = rows(store_url)
    result, files = _invoke(runner, tmp_path,
                            [command, "--storage", store_url, *STUDY_COMMANDS[command](name)])
    assert_clean_error(result, f"unknown study '{printable(name)}'", "nasplat studies")
    assert rows(store_url) == before and not files


@settings(SETTINGS, max_examples=10)
@given(name=NAMES, options=st.lists(st.sampled_from(["--quiet", "--budget", "--seed"]),
                                    max_size=2, unique=True))
def test_resuming_a_study_that_does_not_exist_needs_a_space(runner: CliRunner, store_url: str,
                                                            tmp_path: Path, name: str,
                                                            options: list[str]) -> None:
    before = rows(store_url)
    args = ["run", "--storage", store_url, "--study", name]
    for option in options:
        args += [option] if option == "--quiet" else [option, "3"]
    result, files = _invoke(runner, tmp_path, args)
    if name.strip() and not any(ord(c) < 32 or ord(c) == 127 for c in name):
        assert_clean_error(result, "no search space given")
    else:
        assert_clean_error(result)
    assert rows(store_url) == before and not files


# --- option values, command by command ---------------------------------------------------------

def _options(spec: dict[str, st.SearchStrategy[str] | None]) -> st.SearchStrategy[list[str]]:
    """Some of the options in ``spec`` (a flag where its values are None), in random order."""
    def flatten(chosen: list[tuple[str, str | None]]) -> list[str]:
        return [part for option, value in chosen
                for part in ([option] if value is None else [option, value])]
    pairs = [st.tuples(st.just(option), st.none() if values is None else values)
             for option, values in spec.items()]
    return st.lists(st.one_of(pairs), max_size=4).map(flatten)


FILE_NAMES = VALUES.map(_file_name)
FORMAT = {"--format": VALUES}
COMMANDS: dict[str, tuple[list[str], st.SearchStrategy[list[str]], dict[str, set[str]]]] = {
    # command: (arguments before the options, options, what the store may do when it works)
    "studies": ([], _options(FORMAT), {}),
    "trials": ([STUDY], _options({"--status": VALUES, **FORMAT}), {}),
    "pareto": ([STUDY], _options(FORMAT), {}),
    "surrogate": ([STUDY], _options({**FORMAT, "--plot": FILE_NAMES}), {}),
    "plot": ([STUDY], _options({"--kind": VALUES, "--objectives": VALUES,
                                "--out": FILE_NAMES}), {}),
    "report": ([STUDY], _options({"--out": FILE_NAMES}), {}),
    "export": ([STUDY], _options({"--trial": VALUES, "--pareto": None, "--no-onnx": None,
                                  "--retrain": None, "--out": FILE_NAMES}), {}),
    "enqueue": (["q-toy_int"], _options({"--genome": VALUES, "--file": FILE_NAMES}),
                {"added": {"trials"}}),
    "worker": ([], _options({"--study": st.one_of(st.just(STUDY), NAMES),
                             "--batch": VALUES, "--quiet": None}),
               {"changed": {"strategy_states"}}),
    "compare": (["--seeds", "1", "--budget", "2", "--quiet"],  # at most 2 toy trials a run
                _options({"--spaces": st.one_of(VALUES, st.just("toy_int")),
                          "--strategies": st.one_of(VALUES, st.just("random,nsga2")),
                          "--seeds": st.sampled_from(["-1", "0", "1", "x", "", "1.5"]),
                          "--budget": st.sampled_from(["-1", "0", "1", "2", "x", ""]),
                          "--name": VALUES, "--plot-only": None, "--out": FILE_NAMES}),
                {"added": {"studies", "trials", "metrics", "strategy_states"}}),
    "run": (["--quiet", "--budget", "2"],  # the last --budget wins: at most a few toy trials
            _options({"--space": st.sampled_from(["toy_int", "zdt1_int", "tiny", "nope", "",
                                                  "toy int"]),
                      "--strategy": VALUES, "--budget": st.sampled_from(
                          ["-1", "0", "1", "3", "x", "", "1.5", "nan"]),
                      "--seconds": VALUES, "--seed": VALUES, "--study": NAMES,
                      "--dataset": VALUES, "--objective": VALUES, "--constraint": VALUES,
                      "--set": VALUES, "--workers": st.sampled_from(["0", "-1", "x", "1"])}),
            {"added": {"studies", "trials", "metrics", "strategy_states", "trial_parents"}}),
}


EXAMPLES = {"plot": 6, "report": 3, "surrogate": 8, "export": 8, "compare": 8, "run": 10}
"""Fewer examples for the commands that draw, write files or run trials when they work."""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_random_options_work_or_fail_cleanly(runner: CliRunner, store_url: str,
                                             tmp_path: Path, command: str) -> None:
    prefix, options, may = COMMANDS[command]

    @settings(SETTINGS, max_examples=EXAMPLES.get(command, SETTINGS.max_examples))
    @given(chosen=options)
    def check(chosen: list[str]) -> None:
        before = rows(store_url)
        result, _ = _invoke(runner, tmp_path, [command, *prefix, *chosen, "--storage", store_url])
        event(f"exit code {result.exit_code}")
        assert_clean(result)
        after = rows(store_url)
        if result.exit_code == 0:
            _unchanged_but(before, after, may.get("added", ()), may.get("changed", ()))
        else:
            assert after == before

    check()


@pytest.mark.parametrize("args, message", [  # regressions: each was a traceback or a surprise
    (["plot", STUDY, "--out", "front.txt"], "cannot write a '.txt' file; end it in .png"),
    (["surrogate", STUDY, "--plot", "q.doc"], "cannot write a '.doc' file"),
    (["compare", "--spaces", "toy_int", "--strategies", "random", "--seeds", "0"],
     "Invalid value for '--seeds'"),
    (["compare", "--spaces", "toy_int", "--strategies", "random", "--seeds", "1",
      "--budget", "0"], "Invalid value for '--budget'"),  # ran 100 trials
    (["query", "SELECT 1", "--limit", "0"], "Invalid value for '--limit'"),  # showed every row
    (["trials", "-x"], "No such option"),
    (["enqueue", "q-toy_int", "--genome", "[" * 100_000], "genome JSON nests too deeply"),
    (["run", "--space", "toy_int", "--set", "space.options.n=" + "[" * 100_000 + "]" * 100_000],
     "--set value [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[…: it nests too deeply"),
])
def test_bad_options_are_named(runner: CliRunner, store_url: str, tmp_path: Path,
                               args: list[str], message: str) -> None:
    before = rows(store_url)
    result, files = _invoke(runner, tmp_path, [*args, "--storage", store_url])
    assert_clean_error(result, message)
    assert rows(store_url) == before and not files


def test_a_plot_without_a_suffix_is_a_png(runner: CliRunner, store_url: str,
                                          tmp_path: Path) -> None:
    result, files = _invoke(runner, tmp_path, ["plot", STUDY, "--out", "front",
                                               "--storage", store_url])
    assert result.exit_code == 0 and "wrote front.png" in result.output
    assert [f.name for f in files] == ["front.png"]


@pytest.mark.parametrize("args", [
    ["trials", "\udcff"],
    ["query", "SELECT '\udcff'"],
    ["enqueue", "q-toy_int", "--genome", "[\"\udcff\"]"],
    ["run", "--space", "toy_int", "--study", "a\udcffb"],
    ["plot", STUDY, "--out", "\udcff.png"],
    ["run", "--config", "\udcff.toml"],
])
def test_an_argument_that_is_not_utf8(runner: CliRunner, store_url: str, tmp_path: Path,
                                      args: list[str]) -> None:
    """``nasplat trials $'\\xff'``: Python hands the byte over as a lone surrogate, which
    reached the database driver (UnicodeEncodeError) or the terminal."""
    before = rows(store_url)
    result, files = _invoke(runner, tmp_path, [*args, "--storage", store_url])
    assert_clean_error(result, "is not UTF-8 text")
    assert rows(store_url) == before and not files


# --- storage URLs -------------------------------------------------------------------------------

READERS = [["studies"], ["trials", STUDY], ["pareto", STUDY], ["query", "SELECT 1"],
           ["surrogate", STUDY], ["export", STUDY, "--pareto", "--out", "out"],
           ["plot", STUDY], ["report", STUDY], ["worker", "--study", STUDY, "--quiet"],
           ["enqueue", STUDY, "--genome", "[1]"]]
STORAGE = st.one_of(
    VALUES, VALUES.map(lambda v: f"sqlite:///{_file_name(v, '.db')}"),
    st.sampled_from(["sqlite://", "sqlite:///", "sqlite:///.", "sqlite:///missing/x.db",
                     "sqlite:///:memory:", "sqlite:///file:x?mode=ro&uri=true", "mysql://x/y",
                     "nosuchdb://h/d", "postgresql://nobody@127.0.0.1:1/x", "://", ":::",
                     "postgresql+psycopg2://nobody@127.0.0.1:1/x", "sqlite:////etc/passwd"]))


@settings(SETTINGS, max_examples=25)
@given(command=st.sampled_from(READERS), storage=STORAGE)
@example(command=["studies"], storage="sqlite:///missing.db")
def test_a_bad_storage_url_is_named_and_creates_nothing(runner: CliRunner, store_url: str,
                                                        tmp_path: Path, command: list[str],
                                                        storage: str) -> None:
    before = rows(store_url)
    result, files = _invoke(runner, tmp_path, [*command, "--storage", storage])
    assert_clean_error(result)
    assert not files, f"{storage!r} left {files}"
    assert rows(store_url) == before


# --- config files -------------------------------------------------------------------------------

CONFIG_KEYS = ["space", "strategy", "objectives", "constraints", "dataset", "trainer", "seed",
               "executor", "heartbeat_seconds", "stale_after_seconds", "max_attempts", "x"]
CONFIG_TEXT = st.one_of(
    st.dictionaries(st.sampled_from(CONFIG_KEYS), JSON_VALUES, max_size=4).map(
        lambda d: yaml.safe_dump({"space": "toy_int", **d, "budget": 2}, allow_unicode=True)),
    st.text(max_size=200))


@settings(SETTINGS, max_examples=20)
@given(text=CONFIG_TEXT, suffix=st.sampled_from([".yaml", ".yml", ".toml", ".json", ""]))
@example(text="a: &x [*x]\n", suffix=".yaml")
@example(text="[" * 3000, suffix=".yaml")
@example(text="space: toy_int\nbudget: 2\n", suffix=".yml")  # two runs in one second: the
@example(text="budget: 2\nspace: toy_int\n", suffix=".yml")  # second one's name is taken
def test_run_with_any_config_file_works_or_fails_cleanly(runner: CliRunner, store_url: str,
                                                         tmp_path: Path, text: str,
                                                         suffix: str) -> None:
    before = rows(store_url)
    with _fresh_folder(tmp_path):
        Path(f"study{suffix}").write_text(text, encoding="utf-8")
        result = runner.invoke(cli, ["run", "--config", f"study{suffix}", "--quiet",
                                     "--storage", store_url])
    assert_clean(result)
    if result.exit_code == 0:
        _unchanged_but(before, rows(store_url), COMMANDS["run"][2]["added"])
    else:
        assert "config" in result.output or "study" in result.output, result.output
        assert rows(store_url) == before


# --- genome JSON for `nasplat enqueue` ------------------------------------------------------------

def _genome_text(space: str) -> st.SearchStrategy[str]:
    """Genome JSON for ``space``: a valid genome changed a little, any JSON, several at once,
    or text that is not JSON."""
    sample = instantiate("spaces", space, {}, "space.options")
    valid = sample.to_json(sample.sample(np.random.default_rng(0)))
    return st.one_of(
        near_genomes(valid).map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.lists(st.one_of(near_genomes(valid), st.just(valid)), max_size=3).map(
            lambda genomes: json.dumps({"genomes": genomes})),
        ARG_TEXT,
    )


GENOME_TEXTS = {space: _genome_text(space) for space in GENOME_SPACES}


@pytest.mark.parametrize("space", GENOME_SPACES)
@settings(SETTINGS, max_examples=10)
@given(data=st.data(), as_file=st.booleans())
def test_enqueued_genome_json_is_queued_or_refused(runner: CliRunner, store_url: str,
                                                   tmp_path: Path, space: str,
                                                   data: st.DataObject, as_file: bool) -> None:
    text = data.draw(GENOME_TEXTS[space], label="genome")
    study = f"q-{space}"
    before = rows(store_url)
    with _fresh_folder(tmp_path):
        Path("genomes.json").write_text(text, encoding="utf-8")
        source = ["--file", "genomes.json"] if as_file else ["--genome", text]
        result = runner.invoke(cli, ["enqueue", study, *source, "--storage", store_url])
    after = rows(store_url)
    event(f"exit code {result.exit_code}")
    if result.exit_code != 0:
        assert_clean_error(result, "genome")
        assert after == before
        return
    queued = re.search(r"queued (\d+) trial\(s\)", result.output)
    assert queued, result.output
    _unchanged_but(before, after, added={"trials"})
    new = set(after["trials"]) - set(before["trials"])
    assert len(new) == int(queued.group(1))
    assert all("'queued'" in row for row in new)


def test_a_genome_file_that_is_not_text(runner: CliRunner, store_url: str,
                                        tmp_path: Path) -> None:
    before = rows(store_url)
    with _fresh_folder(tmp_path):
        Path("g.json").write_bytes(b"\xff\xfe[1, 2]")  # was a UnicodeDecodeError
        result = runner.invoke(cli, ["enqueue", "q-toy_int", "--file", "g.json",
                                     "--storage", store_url])
    assert_clean_error(result, "genome file g.json is not UTF-8 JSON text")
    assert rows(store_url) == before
