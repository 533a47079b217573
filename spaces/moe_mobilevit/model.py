"""MobileViTv2 (Mehta & Rastegari, 2022) with a Switch-FFN in each of its 9 attention layers.

Follows Apple's reference implementation (ml-cvnets, ``mobilevit_v2.py``, ``mobilevit_block.py``,
``linear_attention.py``): a conv stem, two MobileNetV2 stages, then three stages of an
MV2 block followed by a MobileViTv2 block holding 2, 4 and 3 linear-attention layers.
:func:`param_count` gives the parameter count of any genome without building it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nasplat.spaces.moe_mobilevit.switch_ffn import Dispatch, SwitchFFN

ATTENTION_LAYERS = (2, 4, 3)
"""Attention layers of the three MobileViTv2 blocks: 9 Switch-FFNs, one gene each."""
PATCH = 2
"""Patch height and width of every MobileViTv2 block (``patch_h = patch_w = 2``)."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to a multiple of ``divisor``, never 10 % below it (MobileNetV2)."""
    min_value = min_value or divisor
    out = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


@dataclass(frozen=True)
class Widths:
    """Channel widths of MobileViTv2 at one width multiplier (cvnets ``get_configuration``)."""

    stem: int
    mv2: tuple[int, int]
    stages: tuple[int, int, int]
    """Output channels of the three MobileViT stages."""
    attn: tuple[int, int, int]
    """Token dimension ``d`` of each stage's attention layers."""

    @classmethod
    def of(cls, width: float) -> Widths:
        """The widths at multiplier ``width`` (0.5 ... 2.0)."""
        stem = make_divisible(min(max(32 * width, 16), 64), 8, 16)
        return cls(stem=stem,
                   mv2=(make_divisible(64 * width, 16), make_divisible(128 * width, 8)),
                   stages=tuple(make_divisible(c * width, 8) for c in (256, 384, 512)),
                   attn=tuple(make_divisible(c * width, 8) for c in (128, 192, 256)))

    @staticmethod
    def ffn_hidden(dim: int) -> int:
        """FFN width of an attention layer: ``ffn_multiplier · d`` rounded down to 16s (×2)."""
        return 2 * dim // 16 * 16


# --- building blocks --------------------------------------------------------------------------


def conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
            act: bool = True) -> nn.Sequential:
    """Conv (no bias) → BatchNorm → SiLU: cvnets' ``ConvLayer``."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups,
                                         bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: expand 1×1, depthwise 3×3, project 1×1; residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int = 2) -> None:
        super().__init__()
        hidden = make_divisible(round(cin * expand), 8)
        self.block = nn.Sequential(conv_bn(cin, hidden), conv_bn(hidden, hidden, 3, stride,
                                                                  groups=hidden),
                                   conv_bn(hidden, cout, act=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block, plus its input when the shapes allow."""
        return x + self.block(x) if self.residual else self.block(x)


class LayerNorm2d(nn.Module):
    """cvnets' ``layer_norm_2d``: one sample's tokens normalised together, per-channel affine.

    The same as ``GroupNorm(1, dim)`` on ``(B, dim, P, N)``, here on channels-last tokens
    ``(B, P, N, dim)``.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise over everything but the batch."""
        var, mean = torch.var_mean(x, dim=(1, 2, 3), keepdim=True, correction=0)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class SeparableSelfAttention(nn.Module):
    """MobileViTv2's separable self-attention: linear in the number of patches.

    Mehta & Rastegari (2022), eq. (1)-(3): context scores ``c = softmax(x W_I)`` over the
    patches, context vector ``Σ c · (x W_K)``, output ``(ReLU(x W_V) ∗ context) W_O``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.qkv = nn.Linear(dim, 1 + 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, P, N, dim)``; attention runs over the ``N`` patches per pixel ``P``."""
        query, key, value = self.qkv(x).split([1, self.dim, self.dim], dim=-1)
        scores = F.softmax(query, dim=2)                       # (B, P, N, 1)
        context = (key * scores).sum(dim=2, keepdim=True)      # (B, P, 1, dim)
        return self.out(F.relu(value) * context)


class AttentionLayer(nn.Module):
    """Pre-norm separable attention, then a pre-norm Switch-FFN, each with a residual."""

    def __init__(self, dim: int, experts: int, capacity_factor: float | None,
                 dispatch: Dispatch) -> None:
        super().__init__()
        self.norm1, self.attn = LayerNorm2d(dim), SeparableSelfAttention(dim)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = SwitchFFN(dim, Widths.ffn_hidden(dim), experts, capacity_factor, dispatch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + attn(norm(x))``, then ``x + ffn(norm(x))``."""
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class MobileViTBlock(nn.Module):
    """MobileViTv2 block: local depthwise conv, unfold to patches, attention layers, fold, 1×1."""

    def __init__(self, channels: int, dim: int, experts: Sequence[int],
                 capacity_factor: float | None, dispatch: Dispatch) -> None:
        super().__init__()
        self.local = nn.Sequential(conv_bn(channels, channels, 3, groups=channels),
                                   nn.Conv2d(channels, dim, 1, bias=False))
        self.layers = nn.ModuleList(AttentionLayer(dim, e, capacity_factor, dispatch)
                                    for e in experts)
        self.norm = LayerNorm2d(dim)
        self.project = conv_bn(dim, channels, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape out; a feature map of odd size is resized to fit whole patches."""
        h, w = x.shape[-2:]
        nh, nw = max(1, -(-h // PATCH)), max(1, -(-w // PATCH))
        if (nh * PATCH, nw * PATCH) != (h, w):
            x = F.interpolate(x, size=(nh * PATCH, nw * PATCH), mode="bilinear",
                              align_corners=False)
        y = self.local(x)
        b, d = y.shape[:2]
        # unfold (B, d, H, W) → (B, P, N, d): P pixels of a patch, N patches
        tokens = (y.reshape(b, d, nh, PATCH, nw, PATCH).permute(0, 3, 5, 2, 4, 1)
                  .reshape(b, PATCH * PATCH, nh * nw, d))
        for layer in self.layers:
            tokens = layer(tokens)
        tokens = self.norm(tokens)
        y = (tokens.reshape(b, PATCH, PATCH, nh, nw, d).permute(0, 5, 3, 1, 4, 2)
             .reshape(b, d, nh * PATCH, nw * PATCH))
        return self.project(y)


class MoEMobileViT(nn.Module):
    """MobileViTv2 whose 9 transformer FFNs are Switch-FFNs with ``experts[i]`` experts.

    ``forward`` returns logits; in training mode it also sets ``aux_loss``, the load-balancing
    loss summed over the layers with a router, times ``aux_loss_coef``, which the shared
    trainer adds to the task loss.
    """

    def __init__(self, experts: Sequence[int], width: float = 0.5, classes: int = 2,
                 aux_loss_coef: float = 0.01, capacity_factor: float | None = None,
                 dispatch: Dispatch = "auto") -> None:
        super().__init__()
        if len(experts) != sum(ATTENTION_LAYERS):
            raise ValueError(f"need {sum(ATTENTION_LAYERS)} expert counts, got {len(experts)}")
        w = Widths.of(width)
        self.aux_loss_coef = aux_loss_coef
        self.stem = conv_bn(3, w.stem, 3, stride=2)
        self.mv2 = nn.Sequential(InvertedResidual(w.stem, w.mv2[0], 1),
                                 InvertedResidual(w.mv2[0], w.mv2[1], 2),
                                 InvertedResidual(w.mv2[1], w.mv2[1], 1))
        stages, cin, start = [], w.mv2[1], 0
        for cout, dim, n in zip(w.stages, w.attn, ATTENTION_LAYERS, strict=True):
            stages.append(nn.Sequential(
                InvertedResidual(cin, cout, 2),
                MobileViTBlock(cout, dim, experts[start:start + n], capacity_factor, dispatch)))
            cin, start = cout, start + n
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(cin, classes)
        self.aux_loss: torch.Tensor | None = None

    def switch_ffns(self) -> list[SwitchFFN]:
        """The 9 Switch-FFNs, in order."""
        return [m for m in self.modules() if isinstance(m, SwitchFFN)]

    def experts(self) -> list[int]:
        """Experts per layer: the genome this model now has (pruning lowers it)."""
        return [ffn.experts for ffn in self.switch_ffns()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, classes)``."""
        x = self.mv2(self.stem(x))
        for stage in self.stages:
            x = stage(x)
        logits = self.head(x.mean(dim=(2, 3)))
        losses = [f.aux_loss for f in self.switch_ffns() if f.aux_loss is not None]
        self.aux_loss = self.aux_loss_coef * torch.stack(losses).sum() if losses else None
        return logits


def param_count(experts: Sequence[int], width: float = 0.5, classes: int = 2) -> int:
    """Parameters of ``MoEMobileViT(experts, width, classes)``, computed without building it."""
    w = Widths.of(width)

    def conv_bn_params(cin: int, cout: int, kernel: int = 1, groups: int = 1) -> int:
        return cin // groups * cout * kernel * kernel + 2 * cout

    def mv2_params(cin: int, cout: int) -> int:
        hidden = make_divisible(round(cin * 2), 8)
        return (conv_bn_params(cin, hidden) + conv_bn_params(hidden, hidden, 3, hidden)
                + conv_bn_params(hidden, cout))

    total = conv_bn_params(3, w.stem, 3)
    total += mv2_params(w.stem, w.mv2[0]) + mv2_params(w.mv2[0], w.mv2[1])
    total += mv2_params(w.mv2[1], w.mv2[1])
    cin, start = w.mv2[1], 0
    for cout, dim, n in zip(w.stages, w.attn, ATTENTION_LAYERS, strict=True):
        total += mv2_params(cin, cout)
        total += conv_bn_params(cout, cout, 3, cout) + cout * dim          # local rep
        for e in experts[start:start + n]:
            attention = 2 * dim + dim * (1 + 2 * dim) + (1 + 2 * dim) + dim * dim + dim
            total += attention + 2 * dim + SwitchFFN.param_count(dim, Widths.ffn_hidden(dim), e)
        total += 2 * dim + conv_bn_params(dim, cout)                       # norm, projection
        cin, start = cout, start + n
    return total + cin * classes + classes
