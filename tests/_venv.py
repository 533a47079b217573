"""A throwaway virtual environment with nasplat installed from its wheel, as a user gets it.

Shared by the install tests (``test_packaging.py``, ``test_example_plugin.py``): the wheels of
nasplat and of ``docs/examples/nasplat-toy`` are built once per test session, from copies of the
sources (the working tree stays clean), and installed with ``--no-deps --no-index`` into one
new environment. Nothing is downloaded: the environment sees the test interpreter's installed
packages (torch, pydantic, ...) through an *overlay*, a folder of links to everything in the
test interpreter's site-packages except nasplat itself. ``python -m venv --system-site-packages``
alone would not do: run from a virtual environment, it exposes the base interpreter's packages,
not the environment's.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "nasplat-toy"
_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                 ".pytest_cache", "*.db", "*.db-*", ".venv", "out")
_OURS = ("nasplat", "__editable__.nasplat", "__editable___nasplat")  # nasplat_toy too, by prefix


@dataclass(frozen=True)
class Venv:
    """A virtual environment: where it is and how to run things in it."""

    path: Path
    site_packages: Path
    workdir: Path
    """An empty folder to run commands in, so the repository is never on ``sys.path``."""

    def run(self, *argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command of the environment (``"nasplat"``, ``"python"``) from ``workdir``."""
        exe = self.path / "bin" / str(argv[0])
        proc = subprocess.run([str(exe), *map(str, argv[1:])], cwd=self.workdir, env=_clean_env(),
                              capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"`{' '.join(map(str, argv))}` exited {proc.returncode}\n"
                                 f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
        return proc

    def python_json(self, code: str) -> Any:
        """Run ``code`` in the environment's Python; it prints one JSON value, returned here."""
        return json.loads(self.run("python", "-c", textwrap.dedent(code)).stdout)


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of the project at ``source`` from a copy of it, offline, into ``out``."""
    copy = out / f"src-{source.name}"
    shutil.copytree(source, copy, ignore=_IGNORE, symlinks=True)
    before = set(out.glob("*.whl"))
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, copy)
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


def make_venv(path: Path, wheels: list[Path]) -> Venv:
    """A new environment at ``path`` with ``wheels`` installed and the overlay of dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (site_packages,) = (path / "lib").glob("python3*/site-packages")
    overlay = path / "overlay"
    overlay.mkdir()
    for entry in _dependencies():
        if not (overlay / entry.name).exists():
            (overlay / entry.name).symlink_to(entry)
    # addsitedir, not a bare path, so that the overlay's own .pth files are processed too
    pth = f"import site; site.addsitedir({str(overlay)!r})\n"
    (site_packages / "zz_overlay.pth").write_text(pth)
    _pip("--python", path / "bin" / "python", "install", "--no-deps", "--no-index",
         "--no-compile", *wheels)
    workdir = path / "work"
    workdir.mkdir()
    return Venv(path, site_packages, workdir)


_SHARED: dict[str, Venv] = {}


def shared_venv(tmp_path_factory: Any) -> Venv:
    """The session's environment with nasplat and nasplat-toy installed from wheels (built once)."""
    if "venv" not in _SHARED:
        out = tmp_path_factory.mktemp("wheels")
        wheels = [build_wheel(ROOT, out), build_wheel(EXAMPLE, out)]
        _SHARED["venv"] = make_venv(tmp_path_factory.mktemp("venv") / "env", wheels)
    return _SHARED["venv"]


def _dependencies() -> list[Path]:
    """Everything installed for the test interpreter, except nasplat and links to this tree."""
    folders = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE
                                          else [])]
    found = []
    for folder in map(Path, folders):
        for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
            if entry.name.startswith(_OURS):
                continue
            if entry.suffix == ".pth" and str(ROOT) in entry.read_text(errors="replace"):
                continue  # an old-style editable install would put the repository on sys.path
            found.append(entry)
    return found


def _pip(*args: str | Path) -> None:
    """Run the test interpreter's pip, failing with its output."""
    argv = [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_clean_env())
    if proc.returncode != 0:
        raise AssertionError(f"`pip {' '.join(map(str, args))}` exited {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")


def _clean_env() -> dict[str, str]:
    """The environment variables minus those that would leak the dev setup into the new venv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NASPLAT_PLUGINS", "NASPLAT_STORAGE",
            "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}
