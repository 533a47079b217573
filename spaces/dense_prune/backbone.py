"""The frozen feature extractor: a bundled small ResNet pre-trained on a source task, or any
torch module named as ``package.module:factory`` with a weights file."""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasplat.dataset import cache_dir
from nasplat.errors import ConfigError

VERSION = 1
"""Bump when the bundled architecture or its pre-training changes: old caches are not reused."""


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and a shortcut (He et al., 2016, fig. 2)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A 4-stage ResNet-style CNN whose features are the last stage average-pooled to 2×2.

    ``features = 4 × width`` (512 for width 128), whatever the input size.
    """

    def __init__(self, in_channels: int = 1, width: int = 128) -> None:
        super().__init__()
        c = width // 8
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU())
        self.stages = nn.Sequential(BasicBlock(c, 2 * c, 2), BasicBlock(2 * c, 4 * c, 2),
                                    BasicBlock(4 * c, width, 2))
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.features = 4 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


@dataclass
class Backbone:
    """A frozen feature extractor, what it is, and a hash of its weights (the cache key)."""

    module: nn.Module
    description: str
    key: str
    features: int


def weights_hash(module: nn.Module) -> str:
    """A hash of every tensor of ``module``'s state dict: equal weights, equal hash."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def frozen(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with no trainable parameter."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_factory(spec: str, weights: str | None, input_shape: tuple[int, ...]) -> Backbone:
    """The module ``package.module:factory()`` returns, with ``weights`` loaded when given."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"space.options.backbone = {spec!r}: give it as package.module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"space.options.backbone = {spec!r}: cannot import it ({exc}); check "
                          f"that the module is installed and names a callable {attr!r}") from None
    module = factory()
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConfigError(f"space.options.weights = {weights!r}: no such file")
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    module = frozen(module)
    with torch.no_grad():
        features = int(module(torch.zeros(1, *input_shape)).flatten(1).shape[1])
    source = f"weights {weights}" if weights else "the factory's own weights"
    return Backbone(module, f"{spec} with {source}", weights_hash(module), features)


def bundled(input_shape: tuple[int, ...], width: int, source_samples: int,
            source_epochs: int, seed: int, log: Any = print) -> Backbone:
    """The bundled SmallResNet, pre-trained on the generated source task and cached.

    The source task (gratings, :func:`nasplat.spaces.dense_prune.data.source_images`) is not
    the target dataset, so no target image, test or other, is ever seen in pre-training.
    """
    params = f"v{VERSION}-{input_shape}-{width}-{source_samples}-{source_epochs}-{seed}"
    name = hashlib.sha256(params.encode()).hexdigest()[:16]
    path = cache_dir() / "dense_prune" / "backbones" / f"small_resnet-{name}.pt"
    module = SmallResNet(input_shape[0], width)
    if path.is_file():
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        log(f"dense_prune: backbone: bundled SmallResNet (P={module.features}), pre-trained on "
            f"the generated source task, reused from {path}")
    else:
        log(f"dense_prune: backbone: pre-training the bundled SmallResNet (P={module.features}) "
            f"on the generated source task ({source_samples} images, {source_epochs} epochs); "
            f"cached at {path}")
        pretrain(module, input_shape, source_samples, source_epochs, seed)
        _save(module, path)
    module = frozen(module)
    return Backbone(module, f"bundled SmallResNet pre-trained on the source task ({path.name})",
                    weights_hash(module), module.features)


def pretrain(module: SmallResNet, input_shape: tuple[int, ...], samples: int, epochs: int,
             seed: int) -> None:
    """Train ``module`` with a temporary linear classifier on the source task."""
    from nasplat.spaces.dense_prune.data import SOURCE_CLASSES, source_images

    torch.manual_seed(seed)
    images, labels = source_images(samples, input_shape, seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    classifier = nn.Linear(module.features, SOURCE_CLASSES)
    model = nn.Sequential(module, classifier)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), 128):
            index = order[start:start + 128]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def _save(module: nn.Module, path: Path) -> None:
    """Write atomically: two processes pre-training at once both end with a complete file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".pt.tmp")
        with os.fdopen(fd, "wb") as handle:
            torch.save(module.state_dict(), handle)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs pre-training again next time
