"""The report's HTML: one self-contained page (inline CSS, images as base64 data URIs)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.9em; } img { max-width: 100%; } .note { color: #666; }
nav a { margin-right: 1em; }
"""


@dataclass(frozen=True)
class Section:
    """One titled part of the report; ``html`` is trusted markup (escape what you insert)."""

    title: str
    html: str

    @property
    def anchor(self) -> str:
        """The section's id in the page."""
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document: a contents bar, then each section."""
    nav = " ".join(f'<a href="#{s.anchor}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{s.anchor}">\n<h2>{escape(s.title)}</h2>\n{s.html}\n'
                     f"</section>" for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p class=\"note\">{escape(subtitle)}</p>\n"
            f"<nav>{nav}</nav>\n{body}\n</body>\n</html>\n")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; numbers right-aligned with six significant digits."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    lines = []
    for row in rows:
        cells = "".join(f'<td class="num">{v:.6g}</td>' if isinstance(v, float) else
                        f'<td class="num">{v}</td>' if isinstance(v, int) else
                        f"<td>{escape('' if v is None else str(v))}</td>" for v in row)
        lines.append(f"<tr>{cells}</tr>")
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(lines) + "\n</tbody></table>")


def image(fig: Figure, alt: str) -> str:
    """``fig`` as a PNG embedded in an ``<img>`` (no file, no network)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def note(text: str) -> str:
    """A greyed paragraph."""
    return f'<p class="note">{escape(text)}</p>'
