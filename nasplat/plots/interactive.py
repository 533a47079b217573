"""The Pareto front as an interactive HTML page (plotly): hover shows trial, genome, values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nasplat.errors import ConfigError
from nasplat.plots._common import DOMINATED, FRONT, INFEASIBLE, arrow, roles
from nasplat.study import Study, TrialRecord


def has_plotly() -> bool:
    """Whether plotly is installed (the optional extra ``nasplat[plots]``)."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return False
    return True


def pareto_html(study: Study, objectives: Sequence[str] | None = None,
                include_plotlyjs: bool | str = True) -> str:
    """A standalone HTML page (plotly.js inlined by default: it works offline) with the
    trials on two or three objectives; hovering a point shows its trial number, genome and
    values."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ConfigError("interactive plots need plotly: pip install 'nasplat[plots]' "
                          "(or write a .png instead)") from None
    sorted_ = roles(study, objectives, least=2)
    names, directions = sorted_.objectives, sorted_.directions
    if len(names) > 3:
        raise ConfigError(f"an interactive plot shows two or three objectives, not "
                          f"{len(names)}: choose them with --objectives a,b[,c]")
    fig = go.Figure()
    for trials, style, symbol in ((sorted_.dominated, DOMINATED, "circle"),
                                  (sorted_.infeasible, INFEASIBLE, "x"),
                                  (sorted_.front, FRONT, "diamond")):
        columns = list(zip(*sorted_.values(trials))) or [()] * len(names)
        common: dict[str, Any] = {
            "mode": "markers", "name": f"{style['label']} ({len(trials)})",
            "text": [_hover(t, names) for t in trials], "hoverinfo": "text",
            "marker": {"color": _css(str(style["color"])), "symbol": symbol}}
        if len(names) == 3:
            fig.add_trace(go.Scatter3d(x=columns[0], y=columns[1], z=columns[2], **common))
        else:
            fig.add_trace(go.Scatter(x=columns[0], y=columns[1], **common))
    labels = [f"{n} {arrow(d)}" for n, d in zip(names, directions)]
    title = f"{study.name}: Pareto front"
    if sorted_.without_values():
        title += f"<br>{sorted_.without_values()}"
    if len(names) == 3:
        fig.update_layout(scene={"xaxis_title": labels[0], "yaxis_title": labels[1],
                                 "zaxis_title": labels[2]})
    else:
        fig.update_layout(xaxis_title=labels[0], yaxis_title=labels[1])
    fig.update_layout(title=title, template="plotly_white")
    return fig.to_html(include_plotlyjs=include_plotlyjs, full_html=True)


def _hover(trial: TrialRecord, names: Sequence[str]) -> str:
    genome = json.dumps(trial.genome)
    if len(genome) > 200:
        genome = genome[:197] + "..."
    values = "<br>".join(f"{n} = {trial.values[n]:.6g}" for n in names)
    return f"trial {trial.number} ({trial.status})<br>genome {genome}<br>{values}"


def _css(color: str) -> str:
    """matplotlib's colour names as CSS: grey levels such as "0.6" become rgb()."""
    try:
        level = float(color)
    except ValueError:
        return color.removeprefix("tab:")
    shade = round(255 * level)
    return f"rgb({shade},{shade},{shade})"
