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
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

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
