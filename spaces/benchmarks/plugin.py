"""The benchmark problems as a plugin: registered exactly as a third party's spaces would be."""

from typing import Any

from nasplat import hookimpl
from nasplat.spaces.benchmarks.problems import BENCHMARKS


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register zdt1_int, zdt2_int, zdt3_int and dtlz2_int."""
    for cls in BENCHMARKS:
        register(cls)
