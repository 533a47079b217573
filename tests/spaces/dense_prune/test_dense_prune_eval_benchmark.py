"""The uncached path of benchmarks/dense_prune_eval.py trains on the features the cache holds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from nasplat.spaces.dense_prune.features import extract

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "dense_prune_eval.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("dense_prune_eval_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


class Seen(torch.nn.Module):
    """A head that keeps the features it was given."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        self.features = features
        return features[:, :3]


def test_the_uncached_backbone_computes_the_cached_features_under_autocast(bench, space) -> None:
    backbone = space.backbone(lambda message: None).module
    images = torch.randn(6, *space.input_shape, generator=torch.Generator().manual_seed(0))
    cached = extract(backbone, images)
    seen = {}
    for as_cached in (True, False):
        model = bench.FrozenThenHead(backbone, Seen(), as_cached=as_cached).train()
        assert not model.backbone.training  # batch norm frozen while the head trains
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the trainer's bf16
            model(images)
        seen[as_cached] = model.head.features
    assert seen[True].dtype == torch.float32
    torch.testing.assert_close(seen[True], cached, rtol=0, atol=0)
    # under autocast all the way, the backbone gives other (bfloat16-rounded) features
    assert not torch.equal(seen[False], cached)
    torch.testing.assert_close(seen[False], cached, rtol=0.1, atol=0.1)


def test_autocasts_follows_the_trainers_precision(bench, space) -> None:
    from nasplat.config import validate_config
    from nasplat.spaces.dense_prune.evaluator import DensePruneEvaluator

    def evaluator(precision: str) -> DensePruneEvaluator:
        study = validate_config({"space": "dense_prune", "seed": 0,
                                 "trainer": {"precision": precision}})
        return DensePruneEvaluator(space, study, log=lambda message: None)

    assert bench.autocasts(evaluator("bf16"))
    assert not bench.autocasts(evaluator("fp32"))
    assert not bench.autocasts(evaluator("auto"))  # fp32 on the CPU
