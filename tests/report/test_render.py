"""The HTML report: its sections hold what the store holds, self-contained."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from nasplat.report import render_report, sections
from nasplat.store import queries
from nasplat.study import Study
from plot_toys import Flaky3


class Page(HTMLParser):
    """Section titles, table rows per table class, image sources and links of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.sources: list[str] = []
        self.links: list[str] = []
        self._tag = ""
        self._table = ""
        self._row: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._tag = tag
        if tag == "table":
            self._table = attributes.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._row.append("")
        elif tag == "img":
            self.sources.append(attributes.get("src") or "")
        elif tag in ("a", "link", "script"):
            self.links.append(attributes.get("href") or attributes.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row:
            self.tables[self._table].append(self._row)
        if tag == "tr":
            self._row = None
        self._tag = ""

    def handle_data(self, data: str) -> None:
        if self._tag == "h2":
            self.titles.append(data)
        elif self._tag == "td" and self._row:
            self._row[-1] += data


@pytest.fixture(scope="module")
def report(mixed_study: Study) -> str:
    """The mixed study's report, rendered once for the tests that only read it."""
    return render_report(mixed_study)


def test_sections_hold_the_store(mixed_study: Study, report: str) -> None:
    page = Page(report)
    assert page.titles == ["Summary", "Pareto front", "Pareto front plot",
                           "Parallel coordinates", "Hypervolume", "Learning curves",
                           "Failures", "First genes"]
    summary = dict(page.tables["summary"])
    counts = queries.status_counts(mixed_study.store, mixed_study.row.id or 0)
    assert summary["space"].startswith("flaky3") and summary["strategy"].startswith("random")
    assert summary["objectives"] == "error ↓, params ↓, spread ↑"
    assert sorted(summary["constraints"].split(", ")) == ["error ≤ 80", "params ≤ 1000"]
    assert int(summary["trials"]) == sum(counts.values())
    assert all(int(summary[f"  {status}"]) == n for status, n in counts.items())
    front = mixed_study.pareto_front()
    assert [int(row[0]) for row in page.tables["pareto"]] == [t.number for t in front]
    assert [float(v) for v in page.tables["pareto"][0][2:5]] == pytest.approx(
        [front[0].values[n] for n in ("error", "params", "spread")], rel=1e-5)
    # failure reasons grouped: the counts add up, and numbers do not split a group
    failed = page.tables["failed"]
    assert sum(int(row[0]) for row in failed) == counts["failed"]
    infeasible = page.tables["infeasible"]
    assert sum(int(row[0]) for row in infeasible) == counts["infeasible"]
    assert any(row[1] == "constraint violated: params = # outside [, #]" and int(row[0]) > 1
               for row in infeasible)


def test_self_contained(report: str) -> None:
    page = Page(report)
    assert len(page.sources) == 4  # pareto, parallel, hypervolume, curves
    for source in page.sources:
        head, data = source.split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data)[:4] == b"\x89PNG"
    assert all(link.startswith("#") for link in page.links)  # nothing fetched


def test_space_sections(mixed_study: Study, report: str,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert "<li>gene 1:" in report and "&lt;genes&gt; &amp; failures" in report

    def broken(self: Flaky3, study: Study) -> list[tuple[str, str]]:
        raise KeyError("nope")

    monkeypatch.setattr(Flaky3, "report_sections", broken)
    (section,) = sections.space_sections(mixed_study)
    assert section.title == "Space flaky3"
    assert "report_sections failed: KeyError: &#x27;nope&#x27;" in section.html
