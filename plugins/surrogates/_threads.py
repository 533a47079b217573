"""Run linear algebra on one OpenBLAS thread: small matrices, busy machines.

numpy and scipy each load their own OpenBLAS, which splits every call across all cores. On the
small matrices of a surrogate (a few hundred rows) and a busy 2-core machine, the threads spin
waiting for each other: a GP fit at 150 observations took 15 s instead of 0.2 s. Optuna sets
``OPENBLAS_NUM_THREADS`` for the same reason (``optuna/_gp/thread_limiting.py``), but that is
read only when a library loads. ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27) sets the
count for the calling thread alone and returns the previous one, so other threads of the
process keep theirs. Without OpenBLAS (another BLAS, another OS) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

SYMBOL = "openblas_set_num_threads_local"


@cache
def _setters() -> tuple[ctypes._CFuncPtr, ...]:
    """``openblas_set_num_threads_local`` of every OpenBLAS this process has loaded."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return ()
    found = []
    for path in sorted(paths):
        try:
            function = getattr(ctypes.CDLL(path), SYMBOL)
        except (OSError, AttributeError):
            continue
        function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
        found.append(function)
    return tuple(found)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Inside, this thread's OpenBLAS calls run on one thread; the counts are restored after."""
    import numpy  # noqa: F401  (both libraries loaded before the first lookup)
    import scipy.linalg  # noqa: F401

    setters = _setters()
    previous = [set_threads(1) for set_threads in setters]
    try:
        yield
    finally:
        for set_threads, count in zip(setters, previous, strict=True):
            set_threads(count)
