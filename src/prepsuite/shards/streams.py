"""Overlapping the CPU-bound halves of a pass on the second core.

``hashlib`` and the ``write``/``pread`` system calls release the GIL, so a hash or a write
handed to a worker thread runs while the main thread reads and checks the next lines. Work is
handed over in batches of a few MB (one hand-over per line would cost more than it saves), and
at most one batch waits while another is being processed, so memory stays bounded by two
batches whatever the size of the data.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor

BATCH_BYTES = 8 << 20
_IOV_MAX = 1024  # buffers per writev (the Linux limit)


class _Batched:
    """Collects ``bytes`` pieces and runs ``self._process(pieces)`` on them in a worker thread,
    in order, with at most one batch in flight."""

    def __init__(self, max_pieces: int = 1 << 30) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None
        self._batch: list[bytes] = []
        self._size = 0
        self._max_pieces = max_pieces

    def add(self, piece: bytes) -> None:
        self._batch.append(piece)
        self._size += len(piece)
        if self._size >= BATCH_BYTES or len(self._batch) >= self._max_pieces:
            self._submit()

    def _submit(self) -> None:
        if self._pending is not None:
            self._pending.result()  # re-raises the worker's error here
        batch, self._batch, self._size = self._batch, [], 0
        self._pending = self._pool.submit(self._process, batch)

    def _process(self, pieces: list[bytes]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self) -> None:
        """Process what is left and wait for it."""
        try:
            if self._batch:
                self._submit()
            if self._pending is not None:
                self._pending.result()
                self._pending = None
        finally:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """Stop without processing what is left (after an error elsewhere)."""
        self._batch = []
        self._pool.shutdown(wait=True)


class BackgroundSha256(_Batched):
    """``sha256`` of everything added, computed in a worker thread."""

    def __init__(self) -> None:
        super().__init__()
        self._digest = hashlib.sha256()

    def _process(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._digest.update(piece)

    def hexdigest(self) -> str:
        self.finish()
        return self._digest.hexdigest()


class BackgroundWriter(_Batched):
    """Writes everything added to the file descriptor ``fd`` with ``writev``, in a worker
    thread. ``finish`` flushes; the caller owns (and closes) ``fd``."""

    def __init__(self, fd: int) -> None:
        super().__init__(max_pieces=_IOV_MAX)
        self._fd = fd

    def _process(self, pieces: list[bytes]) -> None:
        total = sum(len(p) for p in pieces)
        done = os.writev(self._fd, pieces)
        if done < total:  # a short write: rare on regular files, but possible
            rest = memoryview(b"".join(pieces))[done:]
            while rest:
                rest = rest[os.write(self._fd, rest):]
