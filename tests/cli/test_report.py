"""``nasplat report``: the file it writes, and what a real browser shows of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Appended to a copy of the report: after the page and its images load, write what the page
# shows (innerText skips what CSS hides) and each image's decoded size where --dump-dom sees it.
PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    text: document.body.innerText,
    images: [...document.images].map(i => [i.naturalWidth, i.naturalHeight])});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture
def report(runner: CliRunner, storage: str, tmp_path: Path) -> Path:
    result = runner.invoke(cli, ["run", "--space", "flaky", "--budget", "15", "--study", "s",
                                 "--storage", storage, "--quiet"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", "s", "--out", str(out), "--storage", storage])
    assert result.exit_code == 0 and f"wrote {out}" in result.output, result.output
    return out


def test_report_file(report: Path, storage: str) -> None:
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<h2>Pareto front</h2>" in html
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == 2  # pareto, hypervolume
    assert "has no learning curves" in html  # an analytic space: said, not drawn
    for trial in load_study("s", storage).pareto_front():
        assert f'<td class="num">{trial.number}</td>' in html


def test_browser_shows_the_report(report: Path, storage: str, tmp_path: Path) -> None:
    import json

    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no headless Chromium installed (apt-get install chromium)")
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         probed.as_uri()], capture_output=True, text=True, timeout=60, check=True).stdout
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    shown = json.loads(unescape(match.group(1)))
    assert len(shown["images"]) == 2 and all(w > 300 and h > 200 for w, h in shown["images"])
    text = shown["text"]
    for title in ("Summary", "Pareto front", "Hypervolume", "Failures"):
        assert f"\n{title}\n" in f"\n{text}\n"
    study = load_study("s", storage)
    failed = [t for t in study.trials() if t.status == "failed"]
    assert failed and f"failed ({len(failed)})" in text
    assert "loss diverged at epoch #" in text
