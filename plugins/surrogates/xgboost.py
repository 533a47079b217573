"""XGBoost surrogate: a bootstrap ensemble (or quantile models) of small boosted-tree models."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasplat import hookimpl
from nasplat.plugins.surrogates._ensemble import TreeEnsemble, require


class XGBoostSurrogate(TreeEnsemble):
    """XGBoost regressors, one multi-output model per ensemble member (MoENAS's surrogate)."""

    name = "xgboost"

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self._xgb = require("xgboost", self.name, "xgboost-cpu")

    def _fit_one(self, X: np.ndarray, Y: np.ndarray, seed: int, quantile: float | None) -> Any:
        o = self.options
        params: dict[str, Any] = {
            "tree_method": "hist", "max_depth": o.max_depth, "eta": o.learning_rate,
            "colsample_bytree": o.subsample_features, "nthread": o.threads, "seed": seed,
            "verbosity": 0, "multi_strategy": "one_output_per_tree",
        }
        if quantile is None:
            data = self._xgb.DMatrix(X, label=Y, nthread=o.threads)
            return [self._xgb.train(params, data, num_boost_round=o.n_estimators)]
        # the quantile loss takes one target at a time
        params.update(objective="reg:quantileerror", quantile_alpha=quantile)
        return [self._xgb.train(params, self._xgb.DMatrix(X, label=column, nthread=o.threads),
                                num_boost_round=o.n_estimators) for column in Y.T]

    def _predict_one(self, model: Any, X: np.ndarray) -> np.ndarray:
        return np.column_stack([booster.inplace_predict(X) for booster in model])


@hookimpl
def nasplat_register_surrogates(register: Any) -> None:
    """Register the XGBoost surrogate."""
    register(XGBoostSurrogate)
