"""Which expert each token goes to: expert usage, per-group routing, router collapse, plots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from nasplat.spaces.moe_mobilevit.model import MoEMobileViT

COLLAPSE = 0.9
"""A layer whose busiest expert takes more than this share of the tokens has collapsed."""


@torch.inference_mode()
def expert_choices(model: MoEMobileViT, inputs: torch.Tensor,
                   batch_size: int = 256) -> list[np.ndarray]:
    """Per layer, each sample's tokens' experts: ``(samples, tokens)`` integer arrays."""
    model.eval()
    ffns = model.switch_ffns()
    for ffn in ffns:
        ffn.record = True
    per_layer: list[list[np.ndarray]] = [[] for _ in ffns]
    try:
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start:start + batch_size]
            model(batch)
            for chosen, ffn in zip(per_layer, ffns, strict=True):
                chosen.append(ffn.last_expert.reshape(len(batch), -1).cpu().numpy())
    finally:
        for ffn in ffns:
            ffn.record, ffn.last_expert = False, None
    return [np.concatenate(chosen) for chosen in per_layer]


def expert_usage(choices: list[np.ndarray], experts: list[int]) -> list[np.ndarray]:
    """Per layer, the share of tokens each expert takes."""
    return [np.bincount(c.ravel(), minlength=e) / c.size for c, e in
            zip(choices, experts, strict=True)]


def group_shares(choices: list[np.ndarray], experts: list[int],
                 groups: np.ndarray) -> dict[str, np.ndarray]:
    """Per group value: a ``(layers, max experts)`` array of expert shares (0 past a layer's)."""
    out = {}
    width = max(experts)
    for value in sorted(set(groups.tolist()), key=_natural):
        mask = groups == value
        shares = np.zeros((len(choices), width))
        for layer, (c, e) in enumerate(zip(choices, experts, strict=True)):
            shares[layer, :e] = np.bincount(c[mask].ravel(), minlength=e) / max(c[mask].size, 1)
        out[str(value)] = shares
    return out


def _natural(value: object) -> list[object]:
    """Sort key putting ``tone_2`` before ``tone_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(value))]


def routing_rows(choices: list[np.ndarray], experts: list[int],
                 attributes: Mapping[str, np.ndarray]) -> list[dict[str, object]]:
    """Long-format table: layer, attribute, group, expert, share (``all`` for every sample)."""
    rows: list[dict[str, object]] = []
    tables = {"all": {"all": np.stack([np.pad(u, (0, max(experts) - len(u))) for u in
                                       expert_usage(choices, experts)])}}
    tables.update({name: group_shares(choices, experts, values)
                   for name, values in attributes.items()})
    for attribute, by_group in tables.items():
        for group, shares in by_group.items():
            for layer, e in enumerate(experts):
                rows.extend({"layer": layer, "attribute": attribute, "group": group,
                             "expert": k, "share": round(float(shares[layer, k]), 6)}
                            for k in range(e))
    return rows


def collapsed_layers(choices: list[np.ndarray], experts: list[int]) -> list[tuple[int, int, float]]:
    """``(layer, expert, share)`` of each routed layer whose busiest expert takes > 90 %."""
    out = []
    for layer, usage in enumerate(expert_usage(choices, experts)):
        if len(usage) > 1 and usage.max() > COLLAPSE:
            out.append((layer, int(usage.argmax()), float(usage.max())))
    return out


def plot_paths(shares: dict[str, np.ndarray], attribute: str, path: Path) -> Path:
    """MoENAS Fig. 10 style: each group's most chosen expert, layer by layer."""
    from nasplat.plots._common import new_figure, save

    fig = new_figure(7, 4)
    ax = fig.subplots()
    for offset, (group, share) in enumerate(shares.items()):
        layers = np.arange(1, len(share) + 1)
        jitter = (offset - (len(shares) - 1) / 2) * 0.04  # lines that agree stay visible
        ax.plot(layers, share.argmax(axis=1) + jitter, marker="o", label=group)
    ax.set_xlabel("attention layer")
    ax.set_ylabel("most chosen expert")
    ax.set_title(f"routing path by {attribute}")
    ax.legend(fontsize="small", ncols=2)
    return save(fig, path)


def plot_heatmaps(shares: dict[str, np.ndarray], experts: list[int], attribute: str,
                  path: Path) -> Path:
    """One heatmap per layer: groups × experts, the share of a group's tokens per expert."""
    from nasplat.plots._common import new_figure, save

    fig = new_figure(3 * 3, 3 * 2.6)
    axes = fig.subplots(3, 3).ravel()
    names = list(shares)
    for layer, (ax, e) in enumerate(zip(axes, experts, strict=True)):
        grid = np.stack([shares[g][layer, :e] for g in names])
        image = ax.imshow(grid, vmin=0, vmax=1, aspect="auto", cmap="viridis")
        ax.set_title(f"layer {layer + 1}", fontsize="small")
        ax.set_xticks(range(e))
        ax.set_yticks(range(len(names)), names, fontsize="x-small")
    fig.colorbar(image, ax=axes.tolist(), shrink=0.6, label="share of tokens")
    fig.suptitle(f"expert choice by {attribute}")
    return save(fig, path)
