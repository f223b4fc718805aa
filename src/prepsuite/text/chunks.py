"""How many chunks a dump is split into when the workflow's config says ``chunks: auto``.

The corpus is the same bytes whatever the chunk count (the gather puts the chunks back in dump
order), so the count only trades per-job start-up against parallelism and resumability: one
chunk per core keeps every core busy with the fewest start-ups, a lower bound on a chunk's size
keeps a tiny dump from paying a start-up per core, and an upper bound keeps a big dump's jobs
short enough that an interrupted run loses little.
"""

from __future__ import annotations

import math
import os

#: Most bz2-compressed dump bytes per chunk under ``auto`` (about 250-300 MB of XML for zhwiki).
AUTO_CHUNK_BYTES = 64 << 20
#: Fewest bz2-compressed dump bytes per chunk under ``auto``: below this a job's start-up
#: (about 1 s) costs more than the work it would share.
MIN_CHUNK_BYTES = 1 << 20
#: How much bzip2 shrinks Wikipedia's XML, roughly: an uncompressed ``.xml`` dump's size is
#: divided by this to compare it with the bounds above.
BZ2_RATIO = 4


def _cgroup_cpu_limit() -> int | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max``), rounded up; None if unlimited."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            paths = [line.rstrip("\n").split(":", 2)[2] for line in fh if line.startswith("0::")]
        with open(os.path.join("/sys/fs/cgroup", (paths or ["/"])[0].lstrip("/"), "cpu.max"),
                  encoding="utf-8") as fh:
            quota, period = fh.read().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, IndexError):
        return None


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a container's CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return max(1, min(cpus, limit) if limit else cpus)


def auto_chunks(dump: str | os.PathLike[str], cpus: int | None = None) -> int:
    """One chunk per CPU; fewer for a tiny dump (at least :data:`MIN_CHUNK_BYTES` each), more for
    a big one (whole rounds of one per CPU, at most :data:`AUTO_CHUNK_BYTES` each). Sizes are of
    the bz2 file; a plain ``.xml`` dump counts as :data:`BZ2_RATIO` times smaller. A dump that is
    not there (yet) counts as tiny."""
    cpus = usable_cpus() if cpus is None else cpus
    if cpus < 1:
        raise ValueError(f"cpus must be >= 1, got {cpus}")
    try:
        size = os.path.getsize(dump)
    except OSError:
        size = 0
    if not os.fspath(dump).endswith(".bz2"):
        size //= BZ2_RATIO
    if size <= cpus * MIN_CHUNK_BYTES:
        return max(1, math.ceil(size / MIN_CHUNK_BYTES))
    rounds = max(1, math.ceil(math.ceil(size / AUTO_CHUNK_BYTES) / cpus))
    return rounds * cpus


def is_auto(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


def check_chunks_setting(value: object) -> None:
    """Refuse a ``chunks`` setting that is neither an integer >= 1 nor ``auto``."""
    if not is_auto(value) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"chunks: must be an integer >= 1 or auto, got {value!r}")


def resolve_chunks(value: object, dump: str | os.PathLike[str]) -> int:
    """The workflow's ``chunks`` setting as a number: an integer >= 1 as it is, ``auto`` computed."""
    check_chunks_setting(value)
    return auto_chunks(dump) if is_auto(value) else value  # type: ignore[return-value]
