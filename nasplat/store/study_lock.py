"""A study's proposal lock on SQLite that is not the database's write lock.

SQLite has one write lock per database. Holding it while a strategy asks (seconds, up to
minutes for a Gaussian-process sampler late in a study) stops every other writer of the file:
other workers of the study cannot record finished trials, other studies in the same file
cannot write at all, and a process whose asks keep the lock nearly all the time starves the
others until their busy timeout fails them. So on a SQLite file the proposal lock is a POSIX
record lock on one byte (the study's id) of ``<database>-nasplat.lock``, beside the database:
the operating system releases it when its process dies, as SQLite's own lock. Threads of one
process are kept apart by a lock of their own (record locks belong to the process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # Windows: the proposing worker keeps the database's write lock instead
    fcntl = None  # type: ignore[assignment]

_THREAD_LOCKS: dict[tuple[str, int], threading.Lock] = {}
_FILES: dict[str, int] = {}
_GUARD = threading.Lock()


def available() -> bool:
    """Whether study locks can be taken here (POSIX)."""
    return fcntl is not None


@contextmanager
def study_lock(database: str, study_id: int) -> Iterator[None]:
    """Hold the proposal lock of study ``study_id`` of the SQLite file ``database``; waits
    while another process or thread holds it."""
    path = os.path.abspath(database) + "-nasplat.lock"
    with _GUARD:
        local = _THREAD_LOCKS.setdefault((path, study_id), threading.Lock())
        # one descriptor per file for the process's life: closing any descriptor of a file
        # drops every record lock the process holds on it, other studies' included
        if path not in _FILES:
            _FILES[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        fd = _FILES[path]
    with local:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, study_id)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, study_id)
