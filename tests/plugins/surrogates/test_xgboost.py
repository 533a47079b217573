"""The xgboost surrogate: fits, uncertainty, seeding, and the message when xgboost is missing."""

from __future__ import annotations

from surrogate_contract import TreeContract


class TestXGBoost(TreeContract):
    name, module, pip = "xgboost", "xgboost", "xgboost-cpu"
