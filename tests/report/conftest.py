"""The plots' mixed study (tests/plots/plot_toys.py), reported."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plots"))

from plot_toys import mixed_study  # noqa: E402, F401
