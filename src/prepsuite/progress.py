"""A rich progress bar on stderr for long runs, shown only when stderr is a terminal.

Library functions take a plain ``progress(done)`` callback; the CLI decides whether a bar is
drawn, so logs of workflow jobs stay free of terminal control codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where a bar is drawn: the library's users need not load it
    from rich.console import Console

Progress = Callable[[int], None]


@contextmanager
def byte_progress(description: str, total: int | None,
                  console: Console | None = None) -> Iterator[Progress | None]:
    """Yields a callback taking bytes done so far, or None when no bar should be drawn."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal or console.quiet or not total:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress as Bar, TimeRemainingColumn,
                               TransferSpeedColumn)

    bar = Bar("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
              TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True)
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda done: bar.update(task, completed=done)


#: ``work(done, total)``: how far a job is; its total may grow as the job learns it.
Work = Callable[[int, int], None]


@contextmanager
def work_progress(description: str, console: Console | None = None,
                  unit: str = "bytes") -> Iterator[Work | None]:
    """Yields a ``work(done, total)`` callback drawing a bar (``unit``: "bytes" or a plural noun
    such as "images"), or None when no bar should be drawn (not a terminal, or -q)."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal or console.quiet:
        yield None
        return
    import threading

    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress as Bar,
                               TextColumn, TimeRemainingColumn, TransferSpeedColumn)

    counts = ([DownloadColumn(), TransferSpeedColumn()] if unit == "bytes"
              else [MofNCompleteColumn(), TextColumn(unit)])
    bar = Bar("[progress.description]{task.description}", BarColumn(), *counts, TimeRemainingColumn(),
              console=console, transient=True)
    task = bar.add_task(description, total=None)
    lock = threading.Lock()  # shards are written by two threads

    def work(done: int, total: int) -> None:
        with lock:
            bar.update(task, completed=done, total=total or None)

    with bar:
        yield work


class Meter:
    """Adds up work done for a ``work(done, total)`` callback, telling it once per ``step`` units
    at most (a bar redrawn per line would cost more than the line). Thread-safe."""

    def __init__(self, work: Work | None, total: int = 0, step: int = 1 << 22) -> None:
        import threading

        self.work, self.total, self.step = work, total, step
        self.done = self._told = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        if self.work is None:
            return
        with self._lock:
            self.done += n
            if self.done - self._told >= self.step or self.done >= self.total:
                self._told = self.done
                self.work(self.done, self.total)
