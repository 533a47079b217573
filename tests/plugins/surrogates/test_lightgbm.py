"""The lightgbm surrogate: fits, uncertainty, seeding, and the message when lightgbm is missing."""

from __future__ import annotations

from surrogate_contract import SurrogateContract


class TestLightGBM(SurrogateContract):
    name, module, pip = "lightgbm", "lightgbm", "lightgbm"
