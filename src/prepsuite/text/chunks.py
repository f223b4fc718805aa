"""How many chunks a dump is split into when the workflow's config says ``chunks: auto``.

The corpus is the same bytes whatever the chunk count (the gather puts the chunks back in dump
order), so the count only trades per-job start-up against parallelism and resumability: one
chunk per core keeps every core busy with the fewest start-ups, and a bound on the chunk's size
keeps a big dump's jobs short enough that an interrupted run loses little.
"""

from __future__ import annotations

import math
import os

#: Most compressed dump bytes per chunk under ``auto`` (about 250-300 MB of XML for zhwiki).
AUTO_CHUNK_BYTES = 64 << 20


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def auto_chunks(dump: str | os.PathLike[str], cpus: int | None = None) -> int:
    """One chunk per CPU, more for a big dump: a multiple of the CPUs with chunks of at most
    :data:`AUTO_CHUNK_BYTES` of the dump file. A dump not there (yet) counts as small."""
    cpus = usable_cpus() if cpus is None else cpus
    if cpus < 1:
        raise ValueError(f"cpus must be >= 1, got {cpus}")
    try:
        size = os.path.getsize(dump)
    except OSError:
        size = 0
    waves = max(1, math.ceil(math.ceil(size / AUTO_CHUNK_BYTES) / cpus))
    return waves * cpus


def resolve_chunks(value: object, dump: str | os.PathLike[str]) -> int:
    """The workflow's ``chunks`` setting as a number: an integer >= 1 as it is, ``auto`` computed."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return auto_chunks(dump)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"chunks: must be an integer >= 1 or auto, got {value!r}")
    return value
