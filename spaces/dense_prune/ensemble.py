"""Ensembles of Pareto members: softmax outputs averaged, compared with their best member.

As MO-EvoPruneDeepTL (Poyatos et al., 2023, sec. 4.4) the ensembles are the whole Pareto front
and quantile groups of it: the members at or above the 50 % and 75 % quantiles of validation
accuracy, and of OoD AUROC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from nasplat.scores import auroc

QUANTILES = (0.5, 0.75)


@dataclass
class EnsembleResult:
    """One ensemble: its members (trial numbers), its scores and its best member's."""

    group: str
    members: list[int]
    accuracy: float
    auroc: float
    best_member_accuracy: float
    best_member_auroc: float
    further: dict[str, tuple[float, float]] = field(default_factory=dict)
    """AUROC against each further OoD set (``ood2`` ...): the ensemble's and its best member's."""

    @property
    def beats_best_member(self) -> bool:
        """Better than its best member on both accuracy and AUROC."""
        return (self.accuracy > self.best_member_accuracy
                and self.auroc > self.best_member_auroc)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, flat, with ``beats_best_member``: a further OoD set ``ood2`` gives
        ``ood2_auroc`` and ``best_member_ood2_auroc``."""
        out = {k: v for k, v in asdict(self).items() if k != "further"}
        for split, (ensemble_area, best) in self.further.items():
            out[f"{split}_auroc"], out[f"best_member_{split}_auroc"] = ensemble_area, best
        return {**out, "beats_best_member": self.beats_best_member}


def scores(logits_in: torch.Tensor, logits_out: torch.Tensor, labels: torch.Tensor,
           temperature: float) -> tuple[float, float]:
    """Accuracy and ODIN AUROC of the ensemble of heads ``(K, N, C)``: softmax outputs
    averaged over K, at T = 1 for the prediction and at ``temperature`` for the OoD score."""
    predictions = logits_in.softmax(dim=-1).mean(dim=0).argmax(dim=-1)
    accuracy = float((predictions == labels).float().mean())
    return accuracy, ood_auroc(logits_in, logits_out, temperature)


def ood_auroc(logits_in: torch.Tensor, logits_out: torch.Tensor, temperature: float) -> float:
    """ODIN AUROC of the ensemble of heads ``(K, N, C)``: the largest of the softmax outputs
    at ``temperature``, averaged over K, in-distribution against out."""
    score_in = (logits_in / temperature).softmax(dim=-1).mean(dim=0).amax(dim=-1)
    score_out = (logits_out / temperature).softmax(dim=-1).mean(dim=0).amax(dim=-1)
    return auroc(score_in.numpy(), score_out.numpy())


def groups(numbers: list[int], val_accuracy: list[float], ood_auroc: list[float]
           ) -> dict[str, list[int]]:
    """``all`` and the quantile groups: members at or above each quantile of each metric."""
    out = {"all": list(numbers)}
    for metric, values in (("accuracy", val_accuracy), ("auroc", ood_auroc)):
        values_array = np.asarray(values)
        for q in QUANTILES:
            cut = np.quantile(values_array, q)
            out[f"{metric}_q{int(q * 100)}"] = [n for n, v in zip(numbers, values_array)
                                                if v >= cut]
    return out


def evaluate_groups(members: dict[str, list[int]], numbers: list[int], logits_in: torch.Tensor,
                    logits_out: torch.Tensor, labels: torch.Tensor, temperature: float,
                    further: dict[str, torch.Tensor] | None = None) -> list[EnsembleResult]:
    """Every group's ensemble beside its best single member (best on each score apart);
    ``further`` OoD sets (logits by split name) are scored against the same in-distribution
    logits."""
    further = further or {}
    index = {n: i for i, n in enumerate(numbers)}
    single = [scores(logits_in[i:i + 1], logits_out[i:i + 1], labels, temperature)
              for i in range(len(numbers))]
    single_further = {split: [ood_auroc(logits_in[i:i + 1], outside[i:i + 1], temperature)
                              for i in range(len(numbers))]
                      for split, outside in further.items()}
    out = []
    for group, chosen in members.items():
        rows = [index[n] for n in chosen]
        accuracy, area = scores(logits_in[rows], logits_out[rows], labels, temperature)
        out.append(EnsembleResult(
            group, list(chosen), accuracy, area, max(single[r][0] for r in rows),
            max(single[r][1] for r in rows),
            {split: (ood_auroc(logits_in[rows], outside[rows], temperature),
                     max(single_further[split][r] for r in rows))
             for split, outside in further.items()}))
    return out


def plot(results: list[EnsembleResult], path: str, title: str) -> None:
    """Bars of each ensemble's accuracy and AUROC beside its best member's, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    further = list(results[0].further) if results else []
    panels = [("accuracy", "test accuracy"), ("auroc", "OoD AUROC (ODIN)"),
              *((split, f"{split} AUROC (ODIN)") for split in further)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    x = np.arange(len(results))
    for ax, (what, label) in zip(axes[0], panels):
        if what in further:
            ensemble = [r.further[what][0] for r in results]
            best = [r.further[what][1] for r in results]
        else:
            ensemble = [getattr(r, what) for r in results]
            best = [getattr(r, f"best_member_{what}") for r in results]
        ax.bar(x - 0.2, ensemble, 0.4, label="ensemble")
        ax.bar(x + 0.2, best, 0.4, label="best member")
        ax.set_xticks(x, [f"{r.group}\n({len(r.members)})" for r in results], fontsize=8)
        low = min(ensemble + best)
        ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(ensemble + best) + 0.02))
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
