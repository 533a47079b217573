"""nasplat: multi-objective neural architecture search with plugins and a SQL result store."""

from nasplat.hookspecs import hookimpl
from nasplat.study import Study, TrialRecord, list_studies, load_study, prepare, run_study

__version__ = "0.1.0"


def load_model(path: str, weights: bool = True):  # type: ignore[no-untyped-def]
    """The model of a folder written by ``nasplat export``, rebuilt by its space plugin with
    the exported weights, in eval mode (imports torch only when called)."""
    from nasplat.export import load_model as load

    return load(path, weights)


__all__ = ["Study", "TrialRecord", "__version__", "hookimpl", "list_studies", "load_model",
           "load_study", "prepare", "run_study"]
