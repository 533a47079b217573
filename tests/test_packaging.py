"""The wheel holds every package, installs nothing at the top level but ``nasplat``, and loads.

setuptools silently leaves out of the wheel a subpackage missing from ``[tool.setuptools]
packages`` (STYLE §3), and from the repository root ``spaces.x`` and ``nasplat.spaces.x`` both
import: only a real install shows what users get.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from _venv import ROOT, Venv, shared_venv

PYPROJECT = ROOT / "pyproject.toml"


def _setuptools_config() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]


def _source_packages() -> dict[str, Path]:
    """Every package in the tree by its installed name: ``{"nasplat.spaces.x": Path(...)}``."""
    cfg = _setuptools_config()
    found = {}
    for prefix, folder in {"nasplat": "nasplat", **cfg.get("package-dir", {})}.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            parts = init.parent.relative_to(ROOT / folder).parts
            found[".".join((prefix, *parts))] = init.parent
    return found


def test_every_package_is_listed() -> None:
    """Each folder with an ``__init__.py`` under nasplat/, spaces/, plugins/ is in ``packages``."""
    listed = set(_setuptools_config()["packages"])
    missing = sorted(set(_source_packages()) - listed)
    assert not missing, (f"{', '.join(missing)} missing from [tool.setuptools] packages in "
                         f"pyproject.toml: the wheel would silently leave them out")


def test_every_listed_package_exists() -> None:
    """No stale entry in ``packages`` (the build fails on a package folder that is gone)."""
    stale = sorted(set(_setuptools_config()["packages"]) - set(_source_packages()))
    assert not stale, f"{', '.join(stale)} listed in [tool.setuptools] packages but not found"


def test_package_dir_maps_under_nasplat() -> None:
    """spaces/ and plugins/ install as nasplat.spaces and nasplat.plugins, nothing top-level."""
    package_dir = _setuptools_config().get("package-dir", {})
    assert package_dir.get("nasplat.spaces") == "spaces"
    assert package_dir.get("nasplat.plugins") == "plugins"
    assert all(name.startswith("nasplat.") for name in package_dir), package_dir


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh environment with nasplat installed from its wheel."""
    return shared_venv(tmp_path_factory)


@pytest.fixture(scope="module")
def installed(venv: Venv) -> dict:
    """What the environment's Python sees of the installed nasplat distribution."""
    return venv.python_json("""
        import importlib, json, sys
        from importlib import metadata
        import nasplat
        import nasplat.plugins.strategies.random
        dist = metadata.distribution("nasplat")
        loaded, failed = [], {}
        for ep in dist.entry_points.select(group="nasplat"):
            try:
                ep.load()
                loaded.append(ep.name)
            except Exception as exc:
                failed[ep.name] = repr(exc)
        top = {}
        for name in ("spaces", "plugins"):
            try:
                top[name] = importlib.import_module(name).__file__
            except ModuleNotFoundError:
                pass
        print(json.dumps({
            "file": nasplat.__file__,
            "random": nasplat.plugins.strategies.random.__file__,
            "sys_path": sys.path,
            "dists": [d.metadata["Name"] for d in metadata.distributions()
                      if d.metadata["Name"] == "nasplat"],
            "files": [str(f) for f in dist.files],
            "loaded": loaded, "failed": failed, "top_level": top,
        }))
    """)


@pytest.mark.slow
def test_nasplat_is_isolated_from_the_repository(venv: Venv, installed: dict) -> None:
    """The checks below test the installed wheel, not the working tree."""
    assert Path(installed["file"]).is_relative_to(venv.site_packages), installed["file"]
    assert Path(installed["random"]).is_relative_to(venv.site_packages / "nasplat" / "plugins")
    assert ROOT not in {(venv.workdir / p).resolve() for p in installed["sys_path"]}
    assert installed["dists"] == ["nasplat"], "more than one nasplat distribution is visible"


@pytest.mark.slow
def test_wheel_holds_every_module(installed: dict) -> None:
    """Every .py file of every package in the tree is in the installed distribution."""
    files = set(installed["files"])
    missing = []
    for package, folder in _source_packages().items():
        prefix = Path(*package.split("."))
        for module in folder.glob("*.py"):
            if (prefix / module.name).as_posix() not in files:
                missing.append(f"{package}.{module.stem}")
    assert not missing, f"not in the wheel: {', '.join(sorted(missing))}"


@pytest.mark.slow
def test_nothing_installs_at_the_top_level_but_nasplat(venv: Venv, installed: dict) -> None:
    """No ``spaces`` or ``plugins`` module lands in site-packages."""
    assert installed["top_level"] == {}
    for name in ("spaces", "plugins"):
        assert not (venv.site_packages / name).exists()
        assert not (venv.site_packages / f"{name}.py").exists()
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    tops = {Path(f).parts[0] for f in installed["files"] if not f.startswith("..")}
    assert tops == {"nasplat", f"nasplat-{version}.dist-info"}


@pytest.mark.slow
def test_entry_points_all_load(installed: dict) -> None:
    """Every bundled plugin's entry point imports from the installed wheel."""
    assert installed["failed"] == {}
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["nasplat"]
    assert sorted(installed["loaded"]) == sorted(declared)
