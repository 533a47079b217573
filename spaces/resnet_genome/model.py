"""The network a gene code builds: residual blocks and pools, global pooling, FC layers, head.

torch is imported here only; the space imports this module where it builds, so listing
plugins never pays for torch.
"""

from __future__ import annotations

import torch
from torch import nn

from nasplat.spaces.resnet_genome.genes import Gene, body_length


class ResidualBlock(nn.Module):
    """The basic block of He et al. (2016): two k×k conv-BN with ReLU, plus a shortcut.

    The shortcut is a 1×1 convolution and BN (the paper's projection, option B) when the
    block changes the channels or the map size, else the identity.
    """

    def __init__(self, in_channels: int, channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv2d(in_channels, channels, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class GeneNet(nn.Module):
    """``body`` (one module per conv or pool gene), global average pooling, ``fc`` (one
    module per FC gene), then the linear ``head`` to the classes."""

    def __init__(self, body: list[nn.Module], fc: list[nn.Module], head: nn.Linear) -> None:
        super().__init__()
        self.body = nn.Sequential(*body)
        self.fc = nn.Sequential(*fc)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # global average pooling, as ResNet: the FC part's width does not depend on the map size
        return self.head(self.fc(self.body(x).mean(dim=(2, 3))))


def layer_inputs(genome: tuple[Gene, ...], in_channels: int) -> list[int]:
    """The input width of each gene's layer (channels, or features for FC), then the head's."""
    widths, width = [], in_channels
    for gene in genome:
        widths.append(width)
        if gene.type == "conv":
            width = gene.channels
        elif gene.type == "fc":
            width = gene.units
    return [*widths, width]


def layer_prefix(genome: tuple[Gene, ...], index: int) -> str:
    """The state-dict prefix of gene ``index``'s layer (``len(genome)``: the head)."""
    body = body_length(genome)
    if index == len(genome):
        return "head."
    return f"body.{index}." if index < body else f"fc.{index - body}."


def build(genome: tuple[Gene, ...], in_channels: int, classes: int) -> GeneNet:
    """The freshly initialised network of ``genome``."""
    widths = layer_inputs(genome, in_channels)
    body: list[nn.Module] = []
    fc: list[nn.Module] = []
    for gene, width in zip(genome, widths):
        if gene.type == "conv":
            body.append(ResidualBlock(width, gene.channels, gene.kernel, gene.stride))
        elif gene.type == "pool":
            body.append(nn.MaxPool2d(2) if gene.op == "max" else nn.AvgPool2d(2))
        else:
            fc.append(nn.Sequential(nn.Linear(width, gene.units), nn.ReLU(),
                                    nn.Dropout(gene.dropout)))
    return GeneNet(body, fc, nn.Linear(widths[-1], classes))


def count_params(genome: tuple[Gene, ...], in_channels: int, classes: int) -> int:
    """Parameters of ``build(genome, ...)``, counted from the genes alone."""
    widths = layer_inputs(genome, in_channels)
    total = 0
    for gene, width in zip(genome, widths):
        if gene.type == "conv":
            c, k = gene.channels, gene.kernel
            total += width * c * k * k + 2 * c + c * c * k * k + 2 * c  # conv1, bn1, conv2, bn2
            if gene.stride != 1 or width != c:
                total += width * c + 2 * c                              # 1×1 projection + BN
        elif gene.type == "fc":
            total += width * gene.units + gene.units
    return total + widths[-1] * classes + classes
