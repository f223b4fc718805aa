"""What the Snakefile's event handlers (``onsuccess``, ``onerror``) run."""

from __future__ import annotations

import threading


def release_scheduler_timers() -> int:
    """Cancel the pending ``threading.Timer`` threads of this process; how many there were.

    Why: Snakemake's job-rate limiter starts a ``threading.Timer`` of its timespan (1 s by
    default) each time it schedules, to look again once the timespan has passed, and the
    interpreter waits for the last one before it exits: up to a second at the end of every run,
    a quarter of the sample run's time. Nothing is scheduled after the success or error handler,
    so the timers have nothing left to do. (The timespan cannot be set shorter instead:
    ``--max-jobs-per-timespan`` reads "100ms" as 100 minutes.)
    """
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    for timer in timers:
        timer.cancel()
    return len(timers)
