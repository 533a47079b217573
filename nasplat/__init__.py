"""nasplat: multi-objective neural architecture search with plugins and a SQL result store."""

from nasplat.hookspecs import hookimpl
from nasplat.study import Study, TrialRecord, list_studies, load_study, prepare, run_study

__version__ = "0.1.0"
__all__ = ["Study", "TrialRecord", "__version__", "hookimpl", "list_studies", "load_study",
           "prepare", "run_study"]
