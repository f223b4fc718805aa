"""Wikimedia's multistream dumps: independent bz2 streams that chunks can read on their own.

``*-pages-articles-multistream.xml.bz2`` is a concatenation of bz2 streams: the first holds the
``<mediawiki>`` header and ``<siteinfo>``, each following one holds up to 100 ``<page>``
elements, and the last closes the document. ``*-multistream-index.txt.bz2`` lists every page as
``byte_offset:page_id:title``, the offset being where its stream starts. A chunk job therefore
needs only the header stream and its own byte ranges: it decompresses nothing else, so chunks
run in parallel on one machine or on many.

A single-stream dump has no index, but its bz2 blocks can be found in the file itself
(:mod:`.bz2blocks`): with no index, the plan cuts the dump at block boundaries instead, and a
chunk job reads the same kind of document from its own blocks.
"""

from __future__ import annotations

import bz2
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Union

from ..textio import InputError
from .bz2blocks import header_bytes as block_header_bytes
from .bz2blocks import BlockChunkReader, BlockPlan, first_block, plan_blocks, sniff_head
from .lineorigins import LineOrigins
from .pagescan import FOOTER, PAGE_OPEN

_READ = 1 << 20
#: Compressed bytes after the last listed stream: Wikimedia's closing stream (`</mediawiki>`)
#: takes under a hundred; more than this is pages the index does not list.
_TAIL_LIMIT = 64 << 10


def index_for(dump: str | os.PathLike[str]) -> Path | None:
    """The index file Wikimedia publishes beside a multistream dump, if it is there."""
    dump = Path(dump)
    if not dump.name.endswith("-multistream.xml.bz2"):
        return None
    index = dump.with_name(dump.name[: -len(".xml.bz2")] + "-index.txt.bz2")
    return index if index.is_file() else None


_INDEX_LINE = re.compile(rb"^(\d+):\d+:", re.M)
# One stream's run of index lines (they share its offset): one match per stream, not per page,
# so a real dump's index (millions of pages) costs each chunk job no list of millions of offsets.
_STREAM_RUN = re.compile(rb"(\d+):\d+:[^\n]*\n?(?:\1:\d+:[^\n]*\n?)*")


def read_stream_offsets(index: str | os.PathLike[str]) -> list[int]:
    """Sorted start offsets of the page streams, from the index (errors name file and line).

    Every chunk job reads the whole index (a line per page), so it is parsed by one regex over
    the decompressed bytes, one match per stream; the line-by-line loop runs only to name a bad
    line.
    """
    index = Path(index)
    if not index.is_file():
        raise InputError(f"{index}: multistream index not found")
    try:
        data = bz2.decompress(index.read_bytes())
    except (OSError, EOFError, ValueError) as err:
        raise InputError(f"{index}: cannot read the index ({err})") from None
    offsets: set[int] = set()
    end = 0
    for m in _STREAM_RUN.finditer(data):
        if m.start() != end:
            break  # a line that is not `offset:id:title` (or an empty one) lies in between
        offsets.add(int(m.group(1)))
        end = m.end()
    if end != len(data):
        _name_bad_line(index, data)
    if not offsets:
        raise InputError(f"{index}: the index lists no pages")
    return sorted(offsets)


def _name_bad_line(index: Path, data: bytes) -> None:
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        if line and not _INDEX_LINE.match(line):
            raise InputError(f"{index}: line {lineno}: expected 'byte_offset:page_id:title'")
    raise InputError(f"{index}: empty lines in the index")


@dataclass(frozen=True)
class StreamPlan:
    """Byte ranges of the dump: the header stream, and each chunk's page streams."""

    header: tuple[int, int]
    chunks: list[list[tuple[int, int]]]
    dump_bytes: int  # a range ending at -1 runs to here

    def sizes(self) -> list[int]:
        """Compressed bytes of each chunk."""
        return [sum((b if b >= 0 else self.dump_bytes) - a for a, b in ranges) for ranges in self.chunks]

    def summary(self) -> str:
        sizes = self.sizes()
        from ..wording import counted, size_range

        return (f"plan: {counted(sum(map(len, self.chunks)), 'stream')} in "
                f"{counted(len(self.chunks), 'chunk')} of {size_range(sizes)} compressed")


Plan = Union[StreamPlan, BlockPlan]


def is_bz2(dump: str | os.PathLike[str]) -> bool:
    """A bzip2 file, by its signature (a name ending in .bz2 counts when the file is not there)."""
    try:
        with open(dump, "rb") as fh:
            return fh.read(3) == b"BZh"
    except OSError:
        return os.fspath(dump).endswith(".bz2")


def check_splittable(dump: str | os.PathLike[str]) -> None:
    """Refuse, by name, a dump that chunk jobs cannot read in parts without an index."""
    if not Path(dump).is_file():
        raise InputError(f"{dump}: dump not found")
    if not is_bz2(dump):
        raise ValueError(f"{dump}: chunks are read from a .bz2 dump only (its bz2 blocks or, "
                         "with the index, its streams); extract a plain .xml dump whole")


def plan_chunks(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None, chunks: int) -> Plan:
    """Split the page streams into ``chunks`` contiguous runs of about equal compressed size.

    The split depends only on the index and the file size, so every job computes the same plan.
    ``index`` may also be a plan written by :func:`write_plan` (a ``.json`` file): it is
    read instead, so that the index, a line per page, is read once and not by every chunk job.
    Without an index the dump is cut at its bz2 block boundaries (:func:`.bz2blocks.plan_blocks`).
    """
    if chunks < 1:
        raise ValueError(f"chunks must be >= 1, got {chunks}")
    if not Path(dump).is_file():
        raise InputError(f"{dump}: dump not found")
    if index is None:
        return plan_blocks(dump, chunks)
    if is_plan(index):
        return read_plan(index, dump, chunks)
    size = Path(dump).stat().st_size
    offsets = read_stream_offsets(index)
    if offsets[-1] >= size:
        raise InputError(f"{index}: offset {offsets[-1]} lies beyond the end of {dump} ({size} bytes)")
    # the last page stream ends where the footer stream starts: unknown, so read to its end marker
    ranges = [(a, b) for a, b in zip(offsets, offsets[1:])] + [(offsets[-1], -1)]
    total = sum((b if b >= 0 else size) - a for a, b in ranges)
    plan: list[list[tuple[int, int]]] = [[] for _ in range(chunks)]
    done = 0
    for a, b in ranges:
        k = min(chunks - 1, done * chunks // max(total, 1))
        plan[k].append((a, b))
        done += (b if b >= 0 else size) - a
    return StreamPlan((0, offsets[0]), plan, size)


PLAN_FORMAT = "prepsuite stream plan"
BLOCKS = "bz2 blocks"  # a plan's "kind" when it cuts a single-stream dump at block boundaries
_SAMPLE = 4096  # bytes of the dump read at each chunk's start for the plan's fingerprint


def is_plan(path: str | os.PathLike[str]) -> bool:
    """A stream plan (JSON) rather than Wikimedia's index (bz2), by its first byte when it
    exists, else by its ``.json`` name (so a missing plan is reported as a plan)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(64).lstrip()[:1] == b"{"
    except OSError:
        return Path(path).suffix.lower() == ".json"


def planned_chunks(path: str | os.PathLike[str]) -> int | None:
    """The chunk count a plan was made for, or None when ``path`` is no readable plan (reading it
    with :func:`read_plan` then says what is wrong)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return int(data["chunks"]) if data.get("format") == PLAN_FORMAT else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _fingerprint(dump: str | os.PathLike[str], plan: Plan) -> str:
    """A hash of the dump's bytes where the plan says streams start (its header stream, the
    first bytes of every chunk, its last bytes): another dump of the same size does not match."""
    import hashlib

    digest = hashlib.sha256()
    with open(dump, "rb") as fh:
        if isinstance(plan, BlockPlan):
            for offset in plan.sample_offsets():
                fh.seek(offset)
                digest.update(fh.read(_SAMPLE))
        else:
            a, b = plan.header
            fh.seek(a)
            digest.update(fh.read(min(b - a, 1 << 20)))
            for ranges in plan.chunks:
                if ranges:
                    fh.seek(ranges[0][0])
                    digest.update(fh.read(_SAMPLE))
        fh.seek(max(0, plan.dump_bytes - _SAMPLE))
        digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()


def write_plan(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None, chunks: int,
               output: str | os.PathLike[str]) -> Plan:
    """Read the index once and write every chunk's byte ranges to ``output`` (JSON, atomically).

    A real dump's index lists millions of pages; each chunk job reading it whole cost seconds
    per job, more than its own work on small chunks. The plan is small (a pair per stream) and
    records the dump's size, a fingerprint of its bytes and the chunk count, so a plan made for
    another dump or chunk count is refused, not used. Without an index (a single-stream dump)
    the plan holds where each chunk's bz2 blocks start.
    """
    import json

    from ..textio import atomic_output

    if index is not None and is_plan(index):
        raise ValueError(f"{index}: is already a stream plan; give the dump's index")
    plan = plan_chunks(dump, index, chunks)
    # the dump's first bytes checked once here, before any chunk job: a UTF-16 or non-MediaWiki
    # dump is refused by name instead of giving chunks without pages
    if isinstance(plan, BlockPlan):
        block_header_bytes(dump)
    else:
        header_bytes(Path(dump), plan)
    record: dict[str, object] = {
        "format": PLAN_FORMAT,
        "dump": Path(dump).name,
        "dump_bytes": plan.dump_bytes,
        "fingerprint": _fingerprint(dump, plan),
        "chunks": chunks,
    }
    if isinstance(plan, BlockPlan):
        record |= {"kind": BLOCKS, "starts": plan.starts}
    else:
        record |= {"index": Path(index).name, "header": list(plan.header),  # type: ignore[arg-type]
                   "ranges": [[list(r) for r in ranges] for ranges in plan.chunks]}
    with atomic_output(output) as fh:  # compact: a real dump has tens of thousands of streams
        fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return plan


def read_plan(path: str | os.PathLike[str], dump: str | os.PathLike[str], chunks: int) -> Plan:
    """The plan :func:`write_plan` wrote, checked against ``dump`` and ``chunks``."""
    import json

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != PLAN_FORMAT:
            raise ValueError
        planned, dump_bytes = int(data["chunks"]), int(data["dump_bytes"])
        fingerprint = str(data["fingerprint"])
        if data.get("kind") == BLOCKS:
            starts = [int(s) for s in data["starts"]]
        else:
            header = (int(data["header"][0]), int(data["header"][1]))
            ranges = [[(int(a), int(b)) for a, b in chunk] for chunk in data["ranges"]]
    except FileNotFoundError:
        raise InputError(f"{path}: stream plan not found") from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, UnicodeDecodeError):
        raise InputError(f"{path}: not a stream plan (write one with `prep plan`)") from None
    again = f"plan again with `prep plan --chunks {chunks}`"
    if planned != chunks:
        raise InputError(f"{path}: planned for {planned} chunks, not {chunks}; {again}")
    size = Path(dump).stat().st_size
    if dump_bytes != size:
        raise InputError(f"{path}: planned for a dump of {dump_bytes} bytes, but {dump} has {size}; {again}")
    if data.get("kind") == BLOCKS:
        with open(dump, "rb") as raw:
            first = first_block(raw, Path(dump))
        if (len(starts) != planned or starts != sorted(starts) or starts[0] != first
                or starts[-1] > size * 8):
            raise InputError(f"{path}: corrupt plan (its block offsets do not fit {dump}); {again}")
        block_plan = BlockPlan(starts, size)
        if _fingerprint(dump, block_plan) != fingerprint:
            raise InputError(f"{path}: planned for another dump than {dump} (its bytes differ); {again}")
        return block_plan
    starts = [header[0]] + [a for chunk in ranges for a, _ in chunk]
    ends = [header[1]] + [b for chunk in ranges for _, b in chunk]
    if (len(ranges) != planned or starts != sorted(starts) or not all(0 <= a < size for a in starts)
            or not all(b == -1 or a < b <= size for a, b in zip(starts, ends))
            or ends[:-1] != starts[1:] or ends[-1] != -1):  # one run of streams, with no gap
        raise InputError(f"{path}: corrupt stream plan (its byte ranges do not fit {dump}); {again}")
    plan = StreamPlan(header, ranges, size)
    if _fingerprint(dump, plan) != fingerprint:
        raise InputError(f"{path}: planned for another dump than {dump} (its bytes differ); {again}")
    return plan


class StreamsReader(io.RawIOBase):
    """The decompressed bytes of some bz2 streams of a file, read one after the other.

    A range ending at -1 is read until its stream's end-of-stream marker. ``prefix`` and
    ``suffix`` are plain bytes put around them (the dump's header and closing tag); ``prefix_at``
    is where the prefix came from (the header stream's offset), for error messages.
    ``origins`` says which stream each line of the output came from.
    """

    def __init__(self, path: Path, ranges: list[tuple[int, int]], prefix: bytes = b"",
                 suffix: bytes = b"", prefix_at: int | None = None):
        self.path = path
        self.raw: IO[bytes] = open(path, "rb")
        self.ranges = list(ranges)
        self.pending = bytearray(prefix)
        self.suffix = suffix
        self.origins = LineOrigins()
        self._last: int | None = None  # where the stream read last starts
        if prefix:
            self.origins.begin("the header" if prefix_at is None else f"bz2 stream at byte {prefix_at}")
            self.origins.feed(prefix)
        self.position = 0  # byte offset in the file, for error messages
        self.done = 0  # compressed bytes read so far, for progress bars
        self._current: tuple[bz2.BZ2Decompressor, int] | None = None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _fill(self) -> bool:
        """Decompress more into ``pending``; False once everything has been produced."""
        if self._current is None:
            if not self.ranges:
                if self.suffix:
                    self.origins.begin("the end of the chunk" if self._last is None else
                                       f"the end of the bz2 stream at byte {self._last}", numbered=False)
                    self.origins.feed(self.suffix)
                    self.pending += self.suffix
                    self.suffix = b""
                    return True
                return False
            start, end = self.ranges.pop(0)
            self.raw.seek(start)
            self.position = self._last = start
            self.origins.begin(f"bz2 stream at byte {start}")
            self._current = (bz2.BZ2Decompressor(), end)
        decomp, end = self._current
        want = _READ if end < 0 else min(_READ, end - self.position)
        data = self.raw.read(want) if want > 0 else b""
        if not data:
            if decomp.eof:
                self._current = None
                return True
            raise EOFError("compressed stream ended before its end-of-stream marker")
        self.position += len(data)
        self.done += len(data)
        try:
            out = decomp.decompress(data)
        except OSError as err:
            raise OSError(f"invalid bz2 data ({err})") from None
        self.origins.feed(out)
        self.pending += out
        if decomp.eof:
            if end >= 0 and (decomp.unused_data or self.position < end):
                raise OSError("a range holds more than one bz2 stream; index and dump disagree")
            if end < 0:
                self._check_tail(self.position - len(decomp.unused_data))
            self._current = None
        return True

    def _check_tail(self, at: int) -> None:
        """After the last stream the index lists only the dump's closing stream may come: pages
        there are pages the index does not list (an index cut short, or one of another dump),
        which would otherwise be left out of the corpus without a word."""
        self.raw.seek(at)
        tail = self.raw.read(_TAIL_LIMIT + 1)
        self.raw.seek(self.position)
        problem = None
        if len(tail) > _TAIL_LIMIT:
            problem = f"{self.path.stat().st_size - at} bytes more, more than a closing stream"
        else:
            try:
                if PAGE_OPEN in bz2.decompress(tail):
                    problem = "pages the index does not list"
            except (OSError, ValueError, EOFError) as err:
                problem = f"bytes that are not a closing bz2 stream ({err})"
        if problem is not None:
            raise InputError(f"{self.path}: byte {at}: the dump goes on after the last stream its index "
                             f"lists, with {problem}; the index is incomplete or belongs to another dump")

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self.pending:
            if not self._fill():
                return 0
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        del self.pending[:n]
        return n


def header_bytes(dump: Path, plan: StreamPlan) -> bytes:
    """The decompressed header stream (``<mediawiki>`` and ``<siteinfo>``)."""
    reader = StreamsReader(dump, [plan.header])
    try:
        head = reader.read()
    except (EOFError, OSError) as err:
        raise InputError(f"{dump}: byte {reader.position}: cannot read the header stream ({err})") from None
    finally:
        reader.close()
    sniff_head(dump, head)  # a UTF-16 dump has no page the chunks could find: refuse it here
    return head


def chunk_sizes(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None, chunks: int) -> list[int]:
    """Compressed bytes of each chunk's streams (progress bars' totals)."""
    return plan_chunks(dump, index, chunks).sizes()


def open_chunk(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None, chunk: int,
               chunks: int) -> StreamsReader | BlockChunkReader:
    """A readable XML document made of the header and chunk ``chunk``'s page streams (or, with
    no index or a block plan, the pages that start in its bz2 blocks)."""
    dump = Path(dump)
    if not dump.is_file():
        raise InputError(f"{dump}: dump not found")
    if not 0 <= chunk < chunks:
        raise ValueError(f"chunk must be in 0..{chunks - 1}, got {chunk}")
    plan = plan_chunks(dump, index, chunks)
    if isinstance(plan, BlockPlan):
        return BlockChunkReader(dump, plan, chunk)
    return StreamsReader(dump, plan.chunks[chunk], header_bytes(dump, plan), FOOTER, plan.header[0])
