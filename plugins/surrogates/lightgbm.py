"""LightGBM surrogate: a bootstrap ensemble (or quantile models) of small boosted-tree models."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasplat import hookimpl
from nasplat.plugins.surrogates._ensemble import TreeEnsemble, require


class LightGBMSurrogate(TreeEnsemble):
    """LightGBM regressors; LightGBM fits one output per model, so one model per column."""

    name = "lightgbm"

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__(seed, **options)
        self._lgb = require("lightgbm", self.name, "lightgbm")

    def _fit_one(self, X: np.ndarray, Y: np.ndarray, seed: int, quantile: float | None) -> Any:
        o = self.options
        params: dict[str, Any] = {
            "objective": "regression" if quantile is None else "quantile",
            "num_leaves": 2**o.max_depth - 1, "max_depth": o.max_depth,
            "learning_rate": o.learning_rate, "feature_fraction": o.subsample_features,
            # LightGBM's defaults (20 rows a leaf, 3 a bin) would not split 10 observations
            "min_data_in_leaf": 2, "min_data_in_bin": 1, "min_sum_hessian_in_leaf": 0.0,
            "num_threads": o.threads, "seed": seed, "deterministic": True,
            "force_col_wise": True, "verbosity": -1,
        }
        if quantile is not None:
            params["alpha"] = quantile
        data = self._lgb.Dataset(X, free_raw_data=False,
                                 params={"min_data_in_bin": 1, "verbosity": -1})
        models = []
        for column in Y.T:
            data.set_label(column)
            models.append(self._lgb.train(params, data, num_boost_round=o.n_estimators))
        return models

    def _predict_one(self, model: Any, X: np.ndarray) -> np.ndarray:
        # predict takes its own thread count (the training one is not kept): LightGBM's
        # default, every core, made one predict of 100 rows 70x slower on 2 busy cores
        return np.column_stack([m.predict(X, num_threads=self.options.threads) for m in model])


@hookimpl
def nasplat_register_surrogates(register: Any) -> None:
    """Register the LightGBM surrogate."""
    register(LightGBMSurrogate)
