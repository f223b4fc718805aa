"""Worker processes whose death is an error, not a hang.

``multiprocessing.Pool`` replaces a worker that dies (the kernel's out-of-memory killer, a stray
``kill -9``) and never answers the tasks it held: the job waits for them for ever. A long
extraction on a cluster node is exactly where a worker gets killed, so the stages use this pool
instead: ``concurrent.futures`` marks the pool broken when a worker dies, and every result still
awaited raises :class:`WorkerDied`.

Workers are forked (they inherit the loaded modules and tables, so start-up is cheap), and
closing the pool terminates them at once, so an error in the parent never waits for a batch
in flight.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class WorkerDied(ChildProcessError):
    """A worker process ended while it still had work (killed, most often for memory)."""


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # closing the pool terminates: die at once
    if initializer is not None:
        initializer(*initargs)


def _died(what: str) -> WorkerDied:
    return WorkerDied(f"{what}: a worker process died while working (killed, most often by the "
                      "system for lack of memory); rerun it, with fewer "
                      "--processes if memory is short")


class Pending(Generic[T]):
    """A result on its way: ``get()`` waits for it."""

    def __init__(self, get: Callable[[], T], what: str) -> None:
        self._get = get
        self._what = what

    def get(self) -> T:
        try:
            return self._get()
        except BrokenProcessPool:
            raise _died(self._what) from None


class WorkerPool:
    """A fixed set of forked worker processes; use it as a context manager."""

    def __init__(self, processes: int, what: str, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()) -> None:
        self.what = what
        self._executor = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker, initargs=(initializer, initargs))

    def apply(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        try:
            return Pending(self._executor.submit(fn, *args).result, self.what)
        except BrokenProcessPool:  # a worker died before: no new work is taken
            raise _died(self.what) from None

    def map(self, fn: Callable[[Any], T], items: Iterable[Any], chunksize: int = 1) -> Pending[list[T]]:
        """All of ``items`` are sent now; ``get()`` gives the results in their order."""
        try:
            results: Iterator[T] = self._executor.map(fn, items, chunksize=chunksize)
        except BrokenProcessPool:
            raise _died(self.what) from None
        return Pending(lambda: list(results), self.what)

    def close(self) -> None:
        """Stops the workers now, even in the middle of a task."""
        processes = list(getattr(self._executor, "_processes", {}).values())
        for process in processes:
            if process.is_alive():
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Pending", "WorkerDied", "WorkerPool"]
