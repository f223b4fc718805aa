"""`prep shard`: a seeded global shuffle of base64 image lines into equal per-rank shards.

Data-parallel training needs every rank to see the same number of samples (a rank that runs
out first leaves the others waiting in all-reduce) and the samples shuffled across all files.
The run has two passes over the data and never holds more than one line of it:

1. **scan** every part file once, streaming: validate each line, hash the file, and keep only a
   small index per valid line (part, line number, byte offset, length, label) in arrays;
2. **shuffle the index** with a generator seeded from ``seed`` alone, append ``pad`` seeded
   repeats so that every rank gets ``ceil(n / nranks)`` lines, and deal position ``p`` of that
   order to rank ``p % nranks``; then **write** each rank's file by reading its lines back by
   offset (``os.pread``), byte-identical, hashing as it goes (two ranks at a time).

Because rank ``r`` holds positions ``r, r+N, r+2N, …``, batch ``b`` of size ``B`` on each of
``N`` ranks together is exactly batch ``b`` of size ``B·N`` on one rank; and because the
``pad < N`` repeats come after every real line, each rank gets at most one of them.

Everything is written into a temporary directory renamed into place at the end
(:func:`~prepsuite.shards.layout.atomic_directory`), and the same arguments give the same
bytes, ``index.db`` included.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import time
from array import array
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..progress import Meter, Work
from ..textio import REJECTS_HEADER, InputError, OutputError, tsv_field, write_json
from ..wording import counted
from .layout import (
    FILE_LIST,
    FORMAT_VERSION,
    INDEX,
    MANIFEST,
    REJECTS,
    atomic_directory,
    inside,
    relative_entry,
    shard_name,
)
from .streams import (BATCH_BYTES, IOV_MAX, BackgroundSha256, PartFiles, part_descriptor_budget,
                      quick_gil_handoff, write_all)
from .validate import IMAGE, TOO_LONG, check_image, check_line

#: Longest line accepted (bytes, newline excluded); longer ones are rejected without being held
#: in memory, so a file that is not line-oriented at all cannot exhaust it.
MAX_LINE_BYTES = 64 << 20

_READ_BLOCK = 8 << 20
_WRITERS = 2  # rank files written at once (one per core of the 2-core reference machine)
_AHEAD = 2 * _WRITERS  # ranks handed out ahead of the one being fsynced
_INDEX_BATCH = 2000


@dataclass
class Source:
    """One part file named in the file list."""

    name: str  # as written in the file list
    path: Path
    lines: int = 0
    bytes: int = 0
    sha256: str = ""
    valid: int = 0
    rejected: int = 0
    stat: tuple[int, int] = (0, 0)  # size, mtime_ns at the scan: the file must not change after


@dataclass
class ShardResult:
    """What ``shard_dataset`` wrote, with the counts ``prep shard`` prints."""

    out: Path
    n: int
    nranks: int
    per_rank_lines: int
    padding: int
    rejected: int
    seed: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    ranks: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    empty_parts: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes_in / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.rejected_by_reason.items()))
        padded = sum(1 for r in self.ranks if r["padding"])
        return (
            f"shard: {counted(self.n, 'line')} from {counted(len(self.sources), 'part file')}, {self.rejected} rejected"
            + (f" ({reasons}; see {self.out / REJECTS})" if self.rejected else "")
            + f"\nshard: {counted(self.nranks, 'rank')} x {counted(self.per_rank_lines, 'line')}, {self.padding} padding"
            f" repeats on {counted(padded, 'rank')}, seed {self.seed} -> {self.out}"
            f"\nshard: {self.bytes_in / 1e6:.1f} MB in {self.seconds:.2f} s ({self.mb_per_s:.0f} MB/s)"
            + (f"\nshard: warning: {counted(len(self.empty_parts), 'empty part file')} (no lines): "
               + ", ".join(self.empty_parts[:5]) + (" …" if len(self.empty_parts) > 5 else "")
               if self.empty_parts else "")
        )


class _Index:
    """The per-line index kept in memory: five 8-byte integers per valid line, no line data."""

    def __init__(self) -> None:
        self.source = array("q")
        self.line = array("q")
        self.offset = array("q")
        self.length = array("q")
        self.label = array("q")

    def add(self, source: int, line: int, offset: int, length: int, label: int) -> None:
        self.source.append(source)
        self.line.append(line)
        self.offset.append(offset)
        self.length.append(length)
        self.label.append(label)

    def __len__(self) -> int:
        return len(self.source)

    def np(self, name: str) -> np.ndarray:
        arr = getattr(self, name)
        return np.frombuffer(arr, dtype=np.int64) if len(arr) else np.zeros(0, dtype=np.int64)


def read_file_list(data_dir: Path, file_list: str | os.PathLike[str]) -> tuple[Path, list[Source]]:
    """The part files named in ``file_list`` (relative names: resolved against ``data_dir``).

    Entries must be relative and stay inside ``data_dir``; a missing or duplicated part is an
    error, because silently sharding less than the dataset is worse than stopping.
    """
    if not data_dir.is_dir():
        raise ValueError(f"{data_dir}: data directory not found")
    real_root = data_dir.resolve()
    list_path = Path(file_list)
    if not list_path.is_absolute():
        list_path = data_dir / list_path
    if not list_path.is_file():
        raise ValueError(f"{list_path}: file list not found")
    sources: list[Source] = []
    seen: dict[Path, int] = {}
    with open(list_path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{list_path}: line {lineno}"
            try:
                # utf-8-sig: a byte-order mark (some editors write one) is not part of the first name
                entry = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").strip()
            except UnicodeDecodeError as err:
                raise ValueError(f"{where}: not UTF-8 (byte {err.start + 1} of the line)") from None
            if not entry:
                continue
            path = relative_entry(entry, data_dir, "part file", where)
            if not inside(path, real_root):  # a symbolic link on the way leads out
                raise ValueError(f"{where}: part file {entry!r} leads outside {data_dir} (to "
                                 f"{path.resolve()}) through a symbolic link; entries must stay inside it")
            if not path.exists():
                raise ValueError(f"{where}: part file {entry!r} not found in {data_dir}")
            if not path.is_file():
                raise ValueError(f"{where}: part file {entry!r} is not a regular file")
            key = path.resolve()
            if key in seen:
                raise ValueError(f"{where}: part file {entry!r} is listed twice (first on line {seen[key]})")
            seen[key] = lineno
            sources.append(Source(entry, path))
    return list_path, sources


def _check_ranks(nranks: int, n: int, allow_more_ranks: bool, list_path: Path) -> None:
    """More ranks than valid lines make ranks of repeats only, and a mistyped ``--nranks``
    (5000000 for 50) would write copies until the disk is full: refuse unless asked for."""
    if nranks > n and not allow_more_ranks:
        raise ValueError(
            f"{list_path}: --nranks {nranks} is more than the {n} valid lines of the dataset "
            f"({nranks - n} ranks would hold only padding repeats); give at most {n} ranks, "
            "or pass --allow-more-ranks-than-lines")


#: Bytes of ``index.db`` per row besides the source name (measured: ~53 with its index; rounded up).
_INDEX_ROW_BYTES = 64


def output_bytes(sources: list[Source], index: _Index, order: np.ndarray) -> int:
    """Bytes the output will take: every rank file's lines (newline included) and the index."""
    lengths = index.np("length")[order]
    names = max((len(s.name.encode()) for s in sources), default=0)
    return int(lengths.sum()) + len(order) + len(order) * (_INDEX_ROW_BYTES + names)


def _check_space(tmp: Path, out: Path, needed: int, files: int) -> None:
    """Refuse, before writing, an output ``out`` that would not fit: the bytes and the files
    (inodes) free on the file system that ``tmp`` (its temporary directory) lies on."""
    st = os.statvfs(tmp)
    free = st.f_bavail * st.f_frsize
    if needed > free:
        raise OutputError(errno.ENOSPC, f"not enough free space for the output: it needs "
                          f"{_size(needed)}, {_size(free)} is free", str(out))
    if st.f_files and files > st.f_favail:
        raise OutputError(errno.ENOSPC, f"not enough free inodes for the output: it needs {files} "
                          f"files, {st.f_favail} can be created", str(out))


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} bytes"


def _check_arguments(nranks: int, seed: int) -> None:
    if isinstance(nranks, bool) or not isinstance(nranks, (int, np.integer)) or nranks < 1:
        raise ValueError(f"nranks must be an integer >= 1, got {nranks!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def _check_no_overlap(out: Path, data_dir: Path, list_path: Path, sources: list[Source]) -> None:
    """``OUT`` is replaced wholesale with --overwrite, so it must not hold any input."""
    for path, what in [(data_dir, "the data directory"), (list_path, "the file list")] + [
        (s.path, f"part file {s.name!r}") for s in sources
    ]:
        if inside(path, out):
            raise ValueError(f"{out}: output directory would contain {what} ({path}); choose another --out")


def _scan(sources: list[Source], index: _Index, rejects: IO[str], reasons: Counter[str],
          strict: bool, check_images: bool, meter: Meter) -> None:
    """Pass 1: stream every part once, validating each line and indexing the valid ones; the
    part's sha256 is computed on the other core meanwhile."""
    for s_idx, src in enumerate(sources):
        digest = BackgroundSha256()
        offset = told = 0
        lineno = 0
        try:
            with open(src.path, "rb", buffering=0) as fh:
                st = os.fstat(fh.fileno())
                src.stat = (st.st_size, st.st_mtime_ns)
                for raw, size in _lines(fh, digest):
                    lineno += 1
                    if raw is None:
                        checked_label, category = None, TOO_LONG
                        reason = f"line longer than {MAX_LINE_BYTES} bytes"
                    else:
                        length = size - 1 if raw[-1:] == b"\n" else size
                        checked_label, category, reason = check_line(raw, length)
                        if checked_label is not None and check_images:
                            problem = check_image(raw, length)
                            if problem is not None:
                                checked_label, category, reason = None, IMAGE, problem
                    if checked_label is None:
                        if strict:
                            raise InputError(f"{src.path}: line {lineno} (byte {offset}): {reason}")
                        reasons[category] += 1
                        src.rejected += 1
                        rejects.write(f"{tsv_field(src.name)}\t{lineno}\t{tsv_field(reason)}\n")
                    else:
                        index.add(s_idx, lineno, offset, length, checked_label)
                        src.valid += 1
                    offset += size
                    if offset - told >= meter.step:
                        meter.add(offset - told)
                        told = offset
        except BaseException:
            digest.abandon()
            raise
        meter.add(offset - told)
        src.lines = lineno
        src.bytes = offset
        src.sha256 = digest.hexdigest()


def _lines(fh: IO[bytes], digest: BackgroundSha256) -> Iterator[tuple[bytes | None, int]]:
    """``(line, size)`` for every line of ``fh``, newline included (the last line may lack it);
    ``line`` is None for a line longer than ``MAX_LINE_BYTES``, which is skipped, never held.

    The file is read in large blocks and every block goes to ``digest`` whole: a worker thread
    hashes a block without holding the GIL, where one update per line would leave it waiting
    for the GIL after every line while this thread checks lines.
    """
    carry: list[bytes] = []  # the pieces of a line that straddles blocks
    carry_len = 0
    too_long = False
    while block := fh.read(_READ_BLOCK):
        digest.add(block)
        pos, end = 0, len(block)
        while pos < end:
            nl = block.find(b"\n", pos)
            if nl < 0:  # the line goes on in the next block
                carry_len += end - pos
                too_long = too_long or carry_len > MAX_LINE_BYTES
                if too_long:
                    carry = []
                else:
                    carry.append(block[pos:] if pos else block)
                break
            size = nl + 1 - pos
            if carry_len or too_long:
                size += carry_len
                if too_long or size - 1 > MAX_LINE_BYTES:
                    yield None, size
                else:
                    carry.append(block[pos : nl + 1])
                    yield b"".join(carry), size
                carry, carry_len, too_long = [], 0, False
            else:
                yield (None if size - 1 > MAX_LINE_BYTES else block[pos : nl + 1]), size
            pos = nl + 1
    if carry_len:  # the last line, without a newline
        yield (None if too_long else b"".join(carry)), carry_len


def shuffled_order(n: int, nranks: int, seed: int) -> np.ndarray:
    """Indices of the valid lines in output order, padded to ``ceil(n / nranks) * nranks``.

    The first ``n`` entries are a uniform permutation that depends on ``n`` and ``seed`` only
    (not on ``nranks``: this is what makes N ranks and one rank see the same global batches).
    The ``pad`` repeats that follow are drawn without replacement while they can be (so no line
    is repeated twice before every line was repeated once), from the same seeded generator.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(n).astype(np.int64)
    pad = math.ceil(n / nranks) * nranks - n if n else 0
    repeats = []
    while pad > 0:
        take = min(pad, n)
        repeats.append(rng.choice(n, size=take, replace=False).astype(np.int64))
        pad -= take
    return np.concatenate([order, *repeats]) if repeats else order


def _write_shards(tmp: Path, sources: list[Source], index: _Index, order: np.ndarray,
                  nranks: int, meter: Meter) -> list[dict[str, Any]]:
    """Pass 2: each rank's lines, read back by offset and written byte-identical.

    Rank files are independent (each has its own sha256), so two worker threads write two of
    them at once: ``pread``, ``sha256`` and ``writev`` all release the GIL, which keeps both
    cores busy. The main thread fsyncs each finished file, in rank order, meanwhile. Only a few
    ranks are handed out ahead of the fsyncs, so open descriptors stay few whatever ``nranks``.
    """
    n = len(index)
    columns = (index.np("source"), index.np("offset"), index.np("length"))
    limit = part_descriptor_budget(_WRITERS)
    ranks: list[dict[str, Any]] = []
    pending: deque[Future[tuple[dict[str, Any], int]]] = deque()
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        try:
            for r in range(nranks):
                if len(pending) >= _AHEAD:
                    ranks.append(_finish_rank(pending.popleft()))
                pending.append(pool.submit(_write_rank, tmp, r, nranks, order, n, columns, sources, limit, meter))
            while pending:
                ranks.append(_finish_rank(pending.popleft()))
        except BaseException:
            for fut in pending:
                fut.cancel()
            for fut in pending:  # close what the running workers opened
                if not fut.cancelled() and fut.exception() is None:
                    os.close(fut.result()[1])
            raise
    for s in sources:
        st = os.stat(s.path)
        if (st.st_size, st.st_mtime_ns) != s.stat:
            raise InputError(f"{s.path}: changed while sharding; run again on a stable copy")
    return ranks


def _finish_rank(fut: Future[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    entry, fd = fut.result()
    _fsync_and_close(fd)
    return entry


def _write_rank(tmp: Path, r: int, nranks: int, order: np.ndarray, n: int,
                columns: tuple[np.ndarray, np.ndarray, np.ndarray], sources: list[Source],
                limit: int, meter: Meter) -> tuple[dict[str, Any], int]:
    """Write rank ``r``'s file; its manifest entry and the still open descriptor (to fsync)."""
    src, off, length = columns
    picks = order[r::nranks]
    name = shard_name(r, nranks)
    digest = hashlib.sha256()
    total = 0
    batch: list[bytes] = []
    batch_bytes = 0
    fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with PartFiles([s.path for s in sources], limit) as parts:
            for s, o, ln in zip(src[picks].tolist(), off[picks].tolist(), length[picks].tolist()):
                data = parts.pread(s, ln + 1, o)
                if len(data) != ln + 1 or data[-1] != 10:
                    if len(data) != ln:
                        raise InputError(f"{sources[s].path}: changed while sharding (byte {o})")
                    data += b"\n"  # the part's last line had no newline
                digest.update(data)
                batch.append(data)
                batch_bytes += len(data)
                if batch_bytes >= BATCH_BYTES or len(batch) >= IOV_MAX:
                    write_all(fd, batch)
                    total += batch_bytes
                    meter.add(batch_bytes)
                    batch, batch_bytes = [], 0
        write_all(fd, batch)
        total += batch_bytes
        meter.add(batch_bytes)
    except BaseException:
        os.close(fd)
        raise
    real = int(np.count_nonzero(np.arange(r, len(order), nranks) < n))
    entry = {"rank": r, "file": name, "lines": len(picks), "real": real, "padding": len(picks) - real,
             "sha256": digest.hexdigest(), "bytes": total}
    return entry, fd


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _index_rows(sources: list[Source], index: _Index, order: np.ndarray, nranks: int):
    """One row per output line, rank by rank, in shard order."""
    n = len(index)
    names = [s.name for s in sources]
    cols = {k: index.np(k) for k in ("source", "line", "offset", "length", "label")}
    for r in range(nranks):
        picks = order[r::nranks]
        lengths = cols["length"][picks]
        shard_offsets = np.zeros(len(picks), dtype=np.int64)
        if len(picks) > 1:
            np.cumsum(lengths[:-1] + 1, out=shard_offsets[1:])
        columns = zip(
            shard_offsets.tolist(), lengths.tolist(), cols["source"][picks].tolist(),
            cols["line"][picks].tolist(), cols["offset"][picks].tolist(), cols["label"][picks].tolist(),
        )
        for position, (so, ln, s, line, o, label) in enumerate(columns):
            yield {
                "rank": r,
                "position": position,
                "shard_offset": so,
                "length": ln,
                "source_file": names[s],
                "source_line": line,
                "source_offset": o,
                "label": label,
                "is_padding": int(r + position * nranks >= n),
            }


INDEX_COLUMNS = {
    "rank": int,
    "position": int,
    "shard_offset": int,
    "length": int,
    "source_file": str,
    "source_line": int,
    "source_offset": int,
    "label": int,
    "is_padding": int,
}


def _write_index(path: Path, rows) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(path)
    # The whole directory is renamed into place only when complete, so per-batch durability is
    # worth nothing here; one fsync of the finished file is.
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    table = db["lines"]
    table.create(INDEX_COLUMNS, pk=("rank", "position"), not_null=set(INDEX_COLUMNS))
    table.insert_all(rows, pk=("rank", "position"), batch_size=_INDEX_BATCH)
    table.create_index(["rank"])
    db.close()
    fd = os.open(path, os.O_RDONLY)
    _fsync_and_close(fd)


def shard_dataset(
    data_dir: str | os.PathLike[str],
    file_list: str | os.PathLike[str] = FILE_LIST,
    nranks: int = 8,
    out: str | os.PathLike[str] | None = None,
    seed: int = 0,
    check_images: bool = False,
    strict: bool = False,
    overwrite: bool = False,
    allow_more_ranks: bool = False,
    progress: Work | None = None,
) -> ShardResult:
    """Shuffle the valid lines of the parts in ``file_list`` and write ``nranks`` equal shards.

    ``out`` defaults to ``<data_dir>/shards-<nranks>``. Writes ``rank-*-of-*.b64``,
    ``index.db``, ``manifest.json`` and ``rejects.tsv`` there (see the module docstring and the
    README, "Rank shards"). Raises ``ValueError`` for bad arguments and refused inputs and
    :class:`~prepsuite.textio.InputError` for a bad line under ``strict``. More ranks than valid
    lines are refused unless ``allow_more_ranks``, and an output that would not fit on its file
    system is refused before it is written (an :class:`~prepsuite.textio.OutputError`).
    ``progress(done, total)`` hears of the bytes read and written (both passes; the total is
    known after the first).
    """
    started = time.perf_counter()
    _check_arguments(nranks, seed)
    nranks, seed = int(nranks), int(seed)
    data_dir = Path(data_dir)
    out = Path(out) if out is not None else data_dir / f"shards-{nranks}"
    list_path, sources = read_file_list(data_dir, file_list)
    if not sources:
        raise ValueError(f"empty dataset: {list_path} names no part files")
    _check_no_overlap(out, data_dir, list_path, sources)

    with atomic_directory(out, overwrite, MANIFEST) as tmp, quick_gil_handoff():
        index = _Index()
        reasons: Counter[str] = Counter()
        # until the first pass knows what it keeps, the second pass counts as big as the first
        meter = Meter(progress, 2 * sum(_file_size(s.path) for s in sources) if progress else 0)
        with open(tmp / REJECTS, "w", encoding="utf-8", newline="\n") as rejects:
            rejects.write(REJECTS_HEADER)
            _scan(sources, index, rejects, reasons, strict, check_images, meter)
            rejects.flush()
            os.fsync(rejects.fileno())
        n = len(index)
        rejected = sum(reasons.values())
        if n == 0:
            total = sum(s.lines for s in sources)
            detail = (f"all {total} lines are bad ({_reasons(reasons)}), e.g. {_first_reject(tmp / REJECTS)}"
                      if total else "the part files hold no lines")
            raise ValueError(f"empty dataset: {list_path}: {detail}")

        _check_ranks(nranks, n, allow_more_ranks, list_path)
        order = shuffled_order(n, nranks, seed)
        _check_space(tmp, out, output_bytes(sources, index, order), nranks + 3)
        if progress is not None:  # the rank files' bytes are what the second pass writes
            meter.total = meter.done + int(index.np("length")[order].sum()) + len(order)
        ranks = _write_shards(tmp, sources, index, order, nranks, meter)
        _write_index(tmp / INDEX, _index_rows(sources, index, order, nranks))
        per_rank = len(order) // nranks
        empty_parts = [s.name for s in sources if s.lines == 0]
        manifest = {
            "format_version": FORMAT_VERSION,
            "n": n,
            "nranks": nranks,
            "seed": seed,
            "per_rank_lines": per_rank,
            "padding": len(order) - n,
            "rejected": rejected,
            **_label_summary(index),
            "empty_parts": empty_parts,
            "ranks": ranks,
            "sources": [{"file": s.name, "lines": s.lines, "bytes": s.bytes, "sha256": s.sha256} for s in sources],
        }
        write_json(tmp / MANIFEST, manifest)

    return ShardResult(
        out=out, n=n, nranks=nranks, per_rank_lines=per_rank, padding=len(order) - n,
        rejected=rejected, seed=seed, rejected_by_reason=dict(sorted(reasons.items())),
        ranks=ranks, sources=manifest["sources"], bytes_in=sum(s.bytes for s in sources),
        bytes_out=sum(r["bytes"] for r in ranks), seconds=time.perf_counter() - started,
        empty_parts=empty_parts,
    )


def _label_summary(index: _Index) -> dict[str, Any]:
    """The labels the dataset holds, for a loader to refuse out-of-range ones: ``num_classes``
    is the largest label + 1 (None when a label is negative: then no class count fits), and
    ``distinct_labels`` how many different labels occur (fewer means classes without samples)."""
    labels = index.np("label")
    lo, hi = int(labels.min()), int(labels.max())
    return {"num_classes": hi + 1 if lo >= 0 else None, "distinct_labels": int(np.unique(labels).size),
            "label_min": lo, "label_max": hi}


def _file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # reported where the part is opened
        return 0


def _reasons(reasons: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items()))


def _first_reject(path: Path) -> str:
    with open(path, encoding="utf-8") as fh:
        fh.readline()
        source, line, reason = fh.readline().rstrip("\n").split("\t", 2)
    return f"{source} line {line}: {reason}"
