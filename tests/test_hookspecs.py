"""Every hook is documented for plugin authors and exercised by a test."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasplat import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("nasplat_"))


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    docs = ROOT / "docs" / "plugins.md"
    assert hook in docs.read_text(), f"{hook} has no section in docs/plugins.md"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    texts = [p.read_text() for p in (ROOT / "tests").rglob("*.py")
             if p.name != "test_hookspecs.py"]
    texts += [p.read_text() for p in (ROOT / "docs" / "examples").rglob("*.py")]
    assert any(hook in t for t in texts), f"no test uses {hook}"


def test_every_hook_has_a_docstring() -> None:
    for hook in HOOKS:
        assert (getattr(hookspecs, hook).__doc__ or "").strip(), hook
