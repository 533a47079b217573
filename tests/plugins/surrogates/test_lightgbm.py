"""The lightgbm surrogate: fits, uncertainty, seeding, and the message when lightgbm is missing."""

from __future__ import annotations

from surrogate_contract import TreeContract


class TestLightGBM(TreeContract):
    name, module, pip = "lightgbm", "lightgbm", "lightgbm"
