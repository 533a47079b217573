"""How well a study's surrogate predicted, against the number of observations it learned from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from nasplat.plots._common import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nasplat.store.tables import SurrogateReportRow


def surrogate_figure(study: str, reports: Mapping[str, Sequence[SurrogateReportRow]]
                     ) -> Figure:
    """Three panels, Kendall tau, Spearman rho and RMSE (log scale), against observations;
    one line per objective of ``reports`` (``{objective: its reports by observations}``).
    An undefined tau or rho (constant values) leaves a gap in its line."""
    fig = new_figure(12, 3.8)
    ax_tau, ax_rho, ax_rmse = fig.subplots(1, 3)
    for objective, rows in reports.items():
        n = [r.observations for r in rows]
        nan = float("nan")
        ax_tau.plot(n, [nan if r.kendall_tau is None else r.kendall_tau for r in rows],
                    marker="o", markersize=3, label=objective)
        ax_rho.plot(n, [nan if r.spearman_rho is None else r.spearman_rho for r in rows],
                    marker="o", markersize=3, label=objective)
        ax_rmse.plot(n, [r.rmse for r in rows], marker="o", markersize=3, label=objective)
    for ax, title in ((ax_tau, "Kendall τ"), (ax_rho, "Spearman ρ")):
        ax.set_ylim(-1.05, 1.05)
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_title(title)
    ax_rmse.set_title("RMSE (objective units)")
    if all(r.rmse > 0 for rows in reports.values() for r in rows):
        ax_rmse.set_yscale("log")  # objectives of different scales share the panel
    for ax in (ax_tau, ax_rho, ax_rmse):
        ax.set_xlabel("observations")
        ax.grid(alpha=0.3)
    ax_tau.legend(fontsize="small")
    folds = sorted({r.folds for rows in reports.values() for r in rows})
    fig.suptitle(f"{study}: surrogate quality, {'/'.join(map(str, folds))}-fold "
                 f"cross-validation")
    return fig
