"""Keeping the second core busy, in bounded memory.

``hashlib`` and the ``read``/``pread``/``writev`` system calls release the GIL, so a hash handed
to a worker thread runs while the main thread reads and checks the next lines. Work is handed
over in blocks of several MB: a worker that had to take the GIL back after every line would
mostly wait for it. At most one block waits while another is hashed, so memory stays bounded
whatever the size of the data.
"""

from __future__ import annotations

import hashlib
import os
import resource
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

BATCH_BYTES = 8 << 20
IOV_MAX = 1024  # buffers per writev (the Linux limit)


#: GIL switch interval while a pass runs. A worker that waits for the GIL held by a thread busy
#: in Python code gets it only when the interval expires: 5 ms by default, longer than hashing
#: a block takes, which made the background hash nearly serial. 0.2 ms makes it overlap
#: (the scan of 1.1 GB went from 1.4 s to 0.95 s on the reference machine).
SWITCH_INTERVAL = 0.0002


@contextmanager
def quick_gil_handoff() -> Iterator[None]:
    """Lower the interpreter's GIL switch interval for the block, then restore it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class BackgroundSha256:
    """``sha256`` of every block passed to :meth:`add`, in order, computed by a worker thread."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None

    def add(self, block: bytes) -> None:
        if self._pending is not None:
            self._pending.result()  # one block in flight at most
        self._pending = self._pool.submit(self._digest.update, block)

    def hexdigest(self) -> str:
        try:
            if self._pending is not None:
                self._pending.result()
            return self._digest.hexdigest()
        finally:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """Stop (after an error elsewhere); the digest is not wanted any more."""
        self._pool.shutdown(wait=True)


def write_all(fd: int, pieces: list[bytes]) -> None:
    """Write ``pieces`` (at most ``IOV_MAX``) to ``fd`` with one ``writev``, finishing a short
    write (rare on regular files, but allowed) with plain writes."""
    if not pieces:
        return
    total = sum(len(p) for p in pieces)
    done = os.writev(fd, pieces)
    if done < total:
        rest = memoryview(b"".join(pieces))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]


#: Descriptors kept free of part files, for everything else the process opens meanwhile (its
#: outputs, the index database, Python's own imports).
FD_RESERVE = 96


def part_descriptor_budget(users: int = 1) -> int:
    """How many part files each of ``users`` threads may keep open: a dataset may have far more
    parts than the process may open files (ImageNet in parts of 1,000 lines has 1,282; the soft
    limit is often 1,024)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 16
    return max(1, (soft - FD_RESERVE) // users)


class PartFiles:
    """Read-only descriptors of ``paths`` (by number), opened when first read, at most ``limit``
    open at once (the least recently used one is closed to make room). One per thread: a
    descriptor closed by one thread while another reads it could be reused for another file."""

    def __init__(self, paths: Sequence[Path] | Mapping[int, Path], limit: int) -> None:
        self.paths = paths
        self.limit = max(1, limit)
        self._open: OrderedDict[int, int] = OrderedDict()

    def pread(self, index: int, length: int, offset: int) -> bytes:
        fd = self._open.get(index)
        if fd is None:
            if len(self._open) >= self.limit:
                os.close(self._open.popitem(last=False)[1])
            fd = self._open[index] = os.open(self.paths[index], os.O_RDONLY)
        elif len(self._open) > 1:
            self._open.move_to_end(index)
        return os.pread(fd, length, offset)

    def close(self) -> None:
        while self._open:
            os.close(self._open.popitem()[1])

    def __enter__(self) -> "PartFiles":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
