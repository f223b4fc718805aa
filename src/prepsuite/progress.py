"""A rich progress bar on stderr for long runs, shown only when stderr is a terminal.

Library functions take a plain ``progress(done)`` callback; the CLI decides whether a bar is
drawn, so logs of workflow jobs stay free of terminal control codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

Progress = Callable[[int], None]


@contextmanager
def byte_progress(description: str, total: int | None,
                  console: Console | None = None) -> Iterator[Progress | None]:
    """Yields a callback taking bytes done so far, or None when no bar should be drawn."""
    console = console or Console(stderr=True)
    if not console.is_terminal or not total:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress as Bar, TimeRemainingColumn,
                               TransferSpeedColumn)

    bar = Bar("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
              TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True)
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda done: bar.update(task, completed=done)
