"""Worker processes whose death is an error, not a hang, and that can be stopped at any moment.

Both pools of the standard library can wait for ever. ``multiprocessing.Pool`` replaces a worker
that dies (the kernel's out-of-memory killer, a stray ``kill -9``) and never answers the task
it held. ``concurrent.futures.ProcessPoolExecutor`` shares one result pipe among all workers:
a worker stopped in the middle of writing its result leaves half a message there, and the
executor's thread waits for the rest for ever (seen here when a job stopped by SIGTERM
terminated its workers, about one stop in twenty).

So each worker here has a pipe of its own, holds at most one task, and only the worker writes
into its end. A worker that dies closes that end: reading it gives end-of-file at once, even in
the middle of a message, which becomes :class:`WorkerDied`. Stopping the pool kills the workers
and closes the pipes; no thread is left to join. Tasks go to the workers in turn and results
are read from the worker that has them, so results come back in the order tasks were given.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class WorkerDied(ChildProcessError):
    """A worker process ended while it still had work (killed, most often for memory)."""


def _serve(conn: Connection, others: list[Connection], initializer: Callable[..., None] | None,
           initargs: tuple) -> None:
    """A worker's life: run each task it is sent and send back its result or its exception."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool stops its workers with SIGTERM
    for other in others:  # the parent's ends of the workers forked before this one
        other.close()
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:  # the pool was closed, or the parent is gone
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as err:
            reply = (False, err)
        try:
            conn.send(reply)  # pickled whole before a byte is written
        except Exception as err:
            conn.send((False, RuntimeError(f"a worker's result could not be sent back: {err!r}")))


def _run_part(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    return [fn(item) for item in items]


class _Worker:
    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.waiting: deque[Pending[Any]] = deque()  # tasks sent, results not read yet


class Pending(Generic[T]):
    """A result on its way: ``get()`` waits for it (and reads any result before it)."""

    _NOTHING: Any = object()

    def __init__(self, pool: WorkerPool, worker: _Worker) -> None:
        self._pool = pool
        self._worker = worker
        self._value: Any = Pending._NOTHING
        self._error: BaseException | None = None

    def _set(self, ok: bool, value: Any) -> None:
        if ok:
            self._value = value
        else:
            self._error = value

    def get(self) -> T:
        while self._value is Pending._NOTHING and self._error is None:
            self._pool._receive(self._worker)
        if self._error is not None:
            raise self._error
        return self._value


class _Joined(Generic[T]):
    """The results of a task split into parts, in order."""

    def __init__(self, parts: list[Pending[list[T]]]) -> None:
        self._parts = parts

    def get(self) -> list[T]:
        return [item for part in self._parts for item in part.get()]


class WorkerPool:
    """A fixed set of forked worker processes; use it as a context manager."""

    def __init__(self, processes: int, what: str, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()) -> None:
        self.what = what  # named in errors: the file being worked on
        self._workers: list[_Worker] = []
        self._turn = 0
        self._broken: WorkerDied | None = None
        ctx = multiprocessing.get_context("fork")
        try:
            for _ in range(max(1, processes)):
                ours, theirs = ctx.Pipe()
                process = ctx.Process(target=_serve, daemon=True, args=(
                    theirs, [w.conn for w in self._workers] + [ours], initializer, initargs))
                process.start()
                theirs.close()  # the worker's end lives in the worker only: its death is EOF here
                self._workers.append(_Worker(process, ours))
        except BaseException:
            self.close()
            raise

    def apply(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        """Sends ``fn(*args)`` to the next worker, once it has handed back its previous result
        (a worker busy writing a result never finds this process writing to it)."""
        worker = self._workers[self._turn]
        self._turn = (self._turn + 1) % len(self._workers)
        while worker.waiting:
            self._receive(worker)
        if self._broken is not None:
            raise self._broken
        try:
            worker.conn.send((fn, args))
        except OSError:  # BrokenPipeError: the worker is gone
            raise self._died(worker) from None
        pending: Pending[T] = Pending(self, worker)
        worker.waiting.append(pending)
        return pending

    def map(self, fn: Callable[[Any], T], items: Sequence[Any], chunksize: int = 1) -> _Joined[T]:
        """``fn`` over ``items`` in parts of ``chunksize``; ``get()`` gives the results in order."""
        chunksize = max(1, chunksize)
        return _Joined([self.apply(_run_part, fn, items[i:i + chunksize])
                        for i in range(0, len(items), chunksize)])

    def _receive(self, worker: _Worker) -> None:
        if self._broken is not None:
            raise self._broken
        try:
            ok, value = worker.conn.recv()
        except (EOFError, OSError):
            raise self._died(worker) from None
        worker.waiting.popleft()._set(ok, value)

    def _died(self, worker: _Worker) -> WorkerDied:
        worker.process.join(1)
        code = worker.process.exitcode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit status {code}" if code is not None else "still running")
        self._broken = WorkerDied(
            f"{self.what}: a worker process died while working ({how}; most often the system "
            "stops one for lack of memory); rerun it, with fewer --processes if memory is short")
        return self._broken

    def close(self) -> None:
        """Stops the workers now, even in the middle of a task."""
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()
            worker.conn.close()
        for worker in self._workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Pending", "WorkerDied", "WorkerPool"]
