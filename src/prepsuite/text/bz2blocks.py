"""A single-stream ``.xml.bz2`` dump cut at its bzip2 block boundaries, so chunks run in parallel.

Why: one bz2 stream read from its start is decompressed by one process, and on 2 cores that
process capped the whole corpus run (docs/benchmarks.md). But a bz2 stream is a sequence of
independently compressed blocks of at most 900 kB of input, each starting with the 48-bit magic
``0x314159265359`` and carrying its own CRC; only their bit alignment ties them together. A block
copied out at its bit offset, behind a stream header and in front of an end-of-stream marker
whose combined CRC is the block's own CRC, is a complete bz2 stream that libbz2 (Python's
:mod:`bz2`) decompresses and checks. So a chunk job needs only its own part of the file, like a
multistream chunk, and the chunks of a single-stream dump run side by side on one machine or
on many (the way lbzip2 and Hadoop split bzip2 files).

Where a chunk ends: the plan (:func:`plan_blocks`) puts chunk k's first block at the first block
start at or after byte ``k * size / chunks``. A chunk owns the pages whose ``<page>`` tag starts
in its own blocks' output; it skips the tail of a page begun in the chunk before, and reads on
into the next chunk's blocks to finish its last page. Every page is owned by exactly one chunk,
whole, so the chunks put back in order give the dump's pages in order.

A page whose ``<page>`` tag is cut in two by the end of a chunk's blocks starts in that chunk, so
that chunk reads it, even when no other page starts there, and however many (tiny) blocks the
rest of the tag, or its start, is spread over.

A file may be several bz2 streams one after the other (``bzip2 -c part >> dump``, pbzip2), empty
ones too; it is read across them, as bzip2 does. What follows an end-of-stream marker and is no
stream header is trailing data, ignored as bzip2 and Python's :mod:`bz2` ignore it; a chunk
that the plan started in there (at blocks of an appended copy of part of the file, say) is
refused by the chunk before it, which finds its blocks end before that chunk's start.

One of the two 48-bit magics can also occur by chance inside compressed data (about once per
18 TB). A block
that fails to decompress is therefore tried again joined with the next piece, and a chunk start
is only taken once a block decompresses from there; a false magic costs a retry, never data. A
file damaged into a long stretch without any marker is refused once 10 MiB have been searched.

Each block's own CRC is checked by libbz2. The stream's combined CRC (a checksum of the block
CRCs, in the stream's last bytes) is not: checking it would mean finding every block of the
file, and a damaged combined CRC means no damaged text.
"""

from __future__ import annotations

import bz2
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..textio import InputError
from .lineorigins import LineOrigins
from .pagescan import END, FOOTER, PAGE_OPEN

BLOCK_MAGIC = 0x314159265359
END_MAGIC = 0x177245385090
_MAGIC_BITS = 48
_CRC_BITS = 32  # after a block's magic, and after the end-of-stream magic
#: A stream holding no block: its "BZh9" header, the end-of-stream magic and its CRC (byte-aligned).
_EMPTY_STREAM = 4 + (_MAGIC_BITS + _CRC_BITS) // 8
_MASK = (1 << _MAGIC_BITS) - 1
#: A block is at most 900 kB before compression; compressed, a little more in the worst case.
_WINDOW = 4 << 20
#: False magics inside one block that are skipped before the block counts as corrupt.
_MAX_JOINS = 8
#: Most compressed bytes read from a block's start while looking for the markers that end it:
#: a compressed block is at most about 1 MB, even with the false magics above; a file damaged
#: into a long run without any marker is refused instead of read into memory.
_MAX_SEARCH = (_MAX_JOINS + 2) << 20
#: Decompressed bytes read for the header (``<siteinfo>``) before giving up on finding a page.
_HEADER_LIMIT = 64 << 20


def _needles(magic: int) -> list[tuple[int, int, bytes, int]]:
    """For each bit shift of ``magic`` within a byte: (shift, lead, core, span).

    A magic starting at bit ``shift`` of byte ``b`` covers bytes ``b .. b+span-1``; the bytes
    from ``b+lead`` it fills wholly are ``core``, which :meth:`bytes.find` looks for.
    """
    found = []
    for shift in range(8):
        span = (shift + _MAGIC_BITS + 7) // 8
        raw = (magic << (span * 8 - shift - _MAGIC_BITS)).to_bytes(span, "big")
        lead = 1 if shift else 0
        tail = span if (shift + _MAGIC_BITS) % 8 == 0 else span - 1
        found.append((shift, lead, raw[lead:tail], span))
    return found


_SEARCH = [(BLOCK_MAGIC, False, _needles(BLOCK_MAGIC)), (END_MAGIC, True, _needles(END_MAGIC))]


def find_magics(data: bytes, lo: int = 0, hi: int | None = None) -> list[tuple[int, bool]]:
    """Block-start and end-of-stream magics starting in bytes ``lo..hi-1`` of ``data`` and wholly
    inside it: (bit offset in ``data``, is end-of-stream), sorted."""
    hi = len(data) if hi is None else hi
    hits = []
    for magic, is_end, needles in _SEARCH:
        for shift, lead, core, span in needles:
            at = data.find(core, lo + lead)
            while at >= 0:
                start = at - lead
                if start >= hi:
                    break
                if start + span <= len(data):
                    value = int.from_bytes(data[start:start + span], "big") >> (span * 8 - shift - _MAGIC_BITS)
                    if value & _MASK == magic:
                        hits.append((start * 8 + shift, is_end))
                at = data.find(core, at + 1)
    hits.sort()
    return hits


def block_as_stream(data: bytes, first: int, stop: int) -> bytes:
    """Bits ``first .. stop-1`` of ``data`` (one block, from its magic) as a bz2 stream of its own.

    The stream's combined CRC is the block's own: the combined CRC of a one-block stream is
    its block CRC (bzip2 rotates the running value, zero, before xoring each block's in).
    """
    lo, hi = first // 8, (stop + 7) // 8
    n = stop - first
    value = (int.from_bytes(data[lo:hi], "big") >> (hi * 8 - stop)) & ((1 << n) - 1)
    crc = (value >> (n - _MAGIC_BITS - _CRC_BITS)) & 0xFFFFFFFF
    value = (((value << _MAGIC_BITS) | END_MAGIC) << _CRC_BITS) | crc
    n += _MAGIC_BITS + _CRC_BITS
    pad = -n % 8
    return b"BZh9" + (value << pad).to_bytes((n + pad) // 8, "big")


def _decompress_block(data: bytes, first: int, stop: int) -> bytes:
    if stop - first < _MAGIC_BITS + _CRC_BITS + 8:
        raise OSError("too short for a block")
    decomp = bz2.BZ2Decompressor()
    out = decomp.decompress(block_as_stream(data, first, stop))
    if not decomp.eof:
        raise OSError("block incomplete")
    return out


class BlockCursor:
    """The blocks of a bz2 file from a block start on, decompressed one by one, in file order.

    Streams concatenated in one file are read across: an end-of-stream marker only ends a block.
    ``position`` is the byte of the file where the block being read starts (error messages and
    progress); ``done`` the bytes read from the file so far, read-ahead included.
    """

    def __init__(self, raw: IO[bytes], path: Path, start_bit: int):
        self.raw = raw
        self.path = path
        self.base = start_bit // 8  # file byte of buf[0]
        self.raw.seek(self.base)
        self.buf = b""
        self.scanned = 0  # magics starting before buf[scanned] are in self.marks
        self.marks: list[tuple[int, bool]] = []  # file bit offsets of magics after `at`
        self.eof = False
        self.at: int | None = start_bit  # file bit offset of the next block's magic
        self.position = self.base
        self.done = 0
        self.ended_at: int | None = None  # the file byte after the last stream, once read there

    def _read(self) -> bool:
        if self.eof:
            return False
        data = self.raw.read(_WINDOW)
        if not data:
            self.eof = True
            hi = len(self.buf)
        else:
            keep = ((self.at if self.at is not None else self.base * 8) // 8) - self.base
            if keep > 0:  # drop what has been decompressed
                self.buf, self.base, self.scanned = self.buf[keep:], self.base + keep, max(0, self.scanned - keep)
            self.buf += data
            self.done += len(data)
            hi = len(self.buf) - 6  # a magic spans at most 7 bytes: the rest is scanned next time
        if hi > self.scanned:
            after = -1 if self.at is None else self.at  # the current block's own magic is no mark
            self.marks += [(self.base * 8 + bit, end) for bit, end in find_magics(self.buf, self.scanned, hi)
                           if self.base * 8 + bit > after]
            self.scanned = hi
        return True

    def _mark(self, i: int) -> tuple[int, bool] | None:
        """The i-th magic after the current block's start, reading on as needed."""
        while len(self.marks) <= i:
            if self.at is not None and self.base + len(self.buf) - self.at // 8 > _MAX_SEARCH:
                raise InputError(f"{self.path}: byte {self.at // 8}: no bz2 block or end of stream in "
                                 f"the {_MAX_SEARCH >> 20} MiB after the block starting there; the file "
                                 "is damaged (download it again)")
            if not self._read():
                return None
        return self.marks[i]

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return self

    def __next__(self) -> tuple[int, bytes]:
        """(file bit offset of the block's magic, its decompressed bytes)."""
        first = self.at
        if first is None:
            raise StopIteration
        self.position = first // 8
        error: Exception | None = None
        for i in range(_MAX_JOINS):
            mark = self._mark(i)
            if mark is None:
                if error is not None:  # the false magics were all there was
                    break
                raise InputError(f"{self.path}: byte {self.position}: truncated bz2 stream (the file "
                                 "ends before the end of the compressed data; download it again)")
            stop = mark[0]
            base = self.base * 8
            try:
                data = _decompress_block(self.buf, first - base, stop - base)
            except (OSError, EOFError, ValueError) as err:
                error = err  # a magic by chance inside the block: join the next piece
                continue
            del self.marks[:i]
            self._advance()
            return first, data
        raise InputError(f"{self.path}: byte {self.position}: cannot decompress the bz2 block "
                         f"starting there ({error})")

    def _advance(self) -> None:
        """Move to the next block: the magic ending this one, or, past an end-of-stream marker,
        the first block of the stream behind it (None at the file's end, or before trailing
        data that is no bz2 stream, as bzip2 and Python's bz2 read it)."""
        stop, is_end = self.marks.pop(0)
        if is_end:
            after = (stop + _MAGIC_BITS + _CRC_BITS + 7) // 8  # the marker and its CRC, padded
            if not self._read_to(after):
                raise InputError(f"{self.path}: byte {stop // 8}: truncated bz2 stream (the file ends "
                                 "inside its end-of-stream marker; download it again)")
            stop = _stream_blocks_from(self.raw, self.path, after)
            self.marks = [m for m in self.marks if stop is not None and m[0] > stop]
            if stop is None:
                self.ended_at = after
        self.at = stop

    def _read_to(self, byte: int) -> bool:
        while self.base + len(self.buf) < byte:
            if not self._read():
                return False
        return True


@dataclass(frozen=True)
class BlockPlan:
    """Where each chunk's blocks start (file bit offsets; chunk k ends where k+1 starts)."""

    starts: list[int]
    dump_bytes: int

    def sizes(self) -> list[int]:
        """Compressed bytes of each chunk."""
        bounds = self.starts + [self.dump_bytes * 8]
        return [(b - a) // 8 for a, b in zip(bounds, bounds[1:])]

    def sample_offsets(self) -> list[int]:
        """File bytes the plan's fingerprint hashes: the file's start and every chunk's."""
        return [0] + [s // 8 for s in self.starts]

    def summary(self) -> str:
        sizes = self.sizes()
        from ..wording import counted, size_range

        return (f"plan: bz2 blocks of one stream in {counted(len(self.starts), 'chunk')} of "
                f"{size_range(sizes)} compressed")


def _is_stream_header(head: bytes) -> bool:
    return len(head) >= 4 and head[:3] == b"BZh" and head[3] in b"123456789"


def _stream_blocks_from(raw: IO[bytes], path: Path, byte: int) -> int | None:
    """The bit offset of the first block of the bz2 stream starting at file byte ``byte``, past
    any empty streams (``bzip2 < /dev/null`` writes one); None where the file ends there or what
    follows is no bz2 stream: trailing data, which bzip2 and Python's bz2 ignore too."""
    fd = raw.fileno()
    while True:
        head = os.pread(fd, _EMPTY_STREAM, byte)
        if not _is_stream_header(head):
            return None
        if len(head) < 10:
            raise InputError(f"{path}: byte {byte}: truncated bz2 stream (the file ends inside the "
                             "header of a stream; download it again)")
        value = int.from_bytes(head[4:10], "big")
        if value == BLOCK_MAGIC:
            return (byte + 4) * 8
        if value != END_MAGIC:
            return None
        if len(head) < _EMPTY_STREAM:
            raise InputError(f"{path}: byte {byte + 4}: truncated bz2 stream (the file ends inside "
                             "its end-of-stream marker; download it again)")
        byte += _EMPTY_STREAM


def first_block(raw: IO[bytes], path: Path) -> int:
    """The bit offset of the file's first bz2 block: right after its "BZh9" header, or after
    the empty streams that a file made by concatenating streams may begin with."""
    head = os.pread(raw.fileno(), 10, 0)
    if not _is_stream_header(head):
        raise InputError(f"{path}: byte 0: not a bzip2 file (no 'BZh' signature)")
    first = _stream_blocks_from(raw, path, 0)
    if first is not None:
        return first
    if len(head) == 10 and int.from_bytes(head[4:10], "big") == END_MAGIC:  # empty streams only
        raise InputError(f"{path}: byte 4: the bzip2 data is empty; not a MediaWiki XML export")
    raise InputError(f"{path}: byte 4: not a bzip2 file (no block after the 'BZh' signature)")


def _first_block_from(raw: IO[bytes], path: Path, byte: int) -> int | None:
    """The bit offset of the first true block start at or after file byte ``byte``, or None if
    none follows.

    A candidate counts once its block decompresses: a magic that occurs by chance inside
    compressed data is passed over.
    """
    raw.seek(byte)
    lo = byte
    buf = b""
    while True:
        data = raw.read(_WINDOW)
        buf += data
        hi = len(buf) if not data else max(0, len(buf) - 6)
        for bit, is_end in find_magics(buf, 0, hi):
            if is_end:
                continue
            cursor = BlockCursor(raw, path, lo * 8 + bit)
            try:
                next(cursor)
            except InputError:
                continue
            finally:
                raw.seek(lo + len(buf))
            return lo * 8 + bit
        if not data:
            return None
        lo, buf = lo + hi, buf[hi:]


def plan_blocks(dump: str | os.PathLike[str], chunks: int) -> BlockPlan:
    """Split a bz2 file's blocks into ``chunks`` runs of about equal compressed size.

    Depends only on the file, so every job computes the same plan; reading it costs a few
    windows of the file and one block decompressed per chunk.
    """
    if chunks < 1:
        raise ValueError(f"chunks must be >= 1, got {chunks}")
    path = Path(dump)
    if not path.is_file():
        raise InputError(f"{path}: dump not found")
    size = path.stat().st_size
    with open(path, "rb") as raw:
        starts = [first_block(raw, path)]
        for k in range(1, chunks):
            target = max(k * size // chunks, starts[-1] // 8)
            found = _first_block_from(raw, path, target) if starts[-1] < size * 8 else None
            starts.append(found if found is not None else size * 8)
    return BlockPlan(starts, size)


def header_bytes(dump: str | os.PathLike[str]) -> bytes:
    """The dump's XML before its first ``<page>`` (``<mediawiki>`` and ``<siteinfo>``), after
    checking that it is a UTF-8 MediaWiki export (a UTF-16 one would have no page to find)."""
    path = Path(dump)
    got = b""
    with open(path, "rb") as raw:
        for _, data in BlockCursor(raw, path, first_block(raw, path)):
            got += data
            at = got.find(PAGE_OPEN)
            if at >= 0:
                sniff_head(path, got[:at])
                return got[:at]
            if len(got) > _HEADER_LIMIT:
                sniff_head(path, got)
                raise InputError(f"{path}: no <page> in the first {len(got)} bytes of XML; not a pages dump")
    sniff_head(path, got)
    end = got.rfind(END)
    return got[:end] if end >= 0 else got  # a dump without pages: the scanner says what is wrong


def sniff_head(path: Path, head: bytes) -> None:
    """Refuse, naming ``path``, decompressed dump bytes that do not begin a UTF-8 MediaWiki
    export (UTF-16, or another XML document): the chunked path reads the dump in parts and would
    otherwise find no page in them and write an empty corpus."""
    from .extract import _sniff

    _sniff(path, head[:_SNIFF_BYTES])


_SNIFF_BYTES = 512


def _place(data: bytes, at: int) -> tuple[int, int]:
    """Line (1-based) of ``data[at]``, and the bytes before it on that line."""
    return data.count(b"\n", 0, at) + 1, at - (data.rfind(b"\n", 0, at) + 1)


class BlockChunkReader(io.RawIOBase):
    """Chunk ``chunk`` of a bz2 dump under ``plan`` as an XML document of its own: the dump's
    header, the pages the chunk owns, and the closing tag. ``origins`` says which bz2 block each
    line came from (as ``bzip2recover`` numbers them, by the bit offset of their start)."""

    def __init__(self, path: Path, plan: BlockPlan, chunk: int):
        self.path = path
        self.raw: IO[bytes] = open(path, "rb")
        start = plan.starts[chunk]
        self.stop = plan.starts[chunk + 1] if chunk + 1 < len(plan.starts) else None
        self.cursor = BlockCursor(self.raw, path, start)
        empty = start >= plan.dump_bytes * 8 or start == self.stop
        if empty:
            self.cursor.at = None  # its run of blocks is empty: the header and no page
        self.first_block = plan.starts[0]
        self.first = start == self.first_block and not empty  # the dump's own header comes with its blocks
        self.empty = empty
        self.dump_bits = plan.dump_bytes * 8
        self.next_chunk = chunk + 2  # 1-based, for messages
        self.pieces = self._pieces()
        self.pending = b""
        self.offset = 0  # of the next byte of pending to hand out
        self.start_byte = start // 8
        self.size = plan.sizes()[chunk]
        self.origins = LineOrigins()
        self._part = ""  # where the piece _pieces yields next comes from
        self._part_numbered = True
        self._part_start = (1, 0)  # its line and column in the part's own text
        self._head: bytes | None = b""  # the first bytes handed out, until they are checked

    @property
    def position(self) -> int:
        return self.cursor.position

    @property
    def done(self) -> int:
        """Compressed bytes of this chunk decompressed so far (progress bars; at most its size)."""
        return min(max(0, self.cursor.position - self.start_byte), self.size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _pieces(self) -> Iterator[bytes]:
        keep = len(PAGE_OPEN) - 1  # bytes at a piece's end that may begin a tag
        carry = b""  # the last `keep` bytes skipped, from the blocks in `tail`
        tail: list[tuple[int, bytes]] = []  # the blocks skipped last (start, bytes): those holding carry
        skipping = not self.first  # the tail of a page begun in the chunk before is not ours
        if skipping:
            self._came_from(self.first_block)
            yield header_bytes(self.path)
        beyond: bytes | None = None
        for first, data in self.cursor:
            if self.stop is not None and first >= self.stop:
                if first != self.stop:
                    self._off_chain(first)
                beyond, beyond_first = data, first
                break
            self._came_from(first)
            if skipping:
                at = (carry + data).find(PAGE_OPEN)
                if at < 0:
                    carry = (carry + data)[-keep:]
                    tail.append((first, data))
                    while len(tail) > 1 and sum(len(d) for _, d in tail[1:]) >= len(carry):
                        del tail[0]
                    continue
                skipping = False
                if at < len(carry):  # the tag began in blocks skipped before: so do our lines
                    yield from self._tail_from(tail, len(carry) - at)
                    self._came_from(first)
                else:  # name places by their line in the block, not from the <page> on
                    at -= len(carry)
                    self._came_from(first, _place(data, at))
                    data = data[at:]
            yield data
        if beyond is None:  # our blocks ran to the dump's end
            if self.stop is not None and self.stop < self.dump_bits and not self.empty:
                self._off_chain(None)
            if skipping:
                yield FOOTER  # no page starts in them
            return  # else the dump's own </mediawiki> came with them (the scanner checks it)
        # Read on to finish our last page: up to the first <page> that starts after our blocks.
        if skipping:
            # a <page> whose tag begins in our last bytes is ours; the blocks after ours may be
            # shorter than the rest of its tag (tiny streams), so read until they hold it
            data, later = carry + beyond, []
            while len(data) - len(carry) < keep:
                more = next(self.cursor, None)
                if more is None:
                    break
                later.append(more)
                data += more[1]
            at = data.find(PAGE_OPEN)
            if not 0 <= at < len(carry):
                self._came_from(None)
                yield FOOTER  # no page starts in our blocks
                return
            yield from self._tail_from(tail, len(carry) - at)  # the start of its tag, from our blocks
            beyond = beyond + b"".join(d for _, d in later)  # the rest of it cannot match a tag again
        pending, search_from = beyond, 0
        self._came_from(beyond_first)
        while True:
            at = pending.find(PAGE_OPEN, search_from)
            if at >= 0:
                yield pending[:at]
                self._came_from(None)
                yield FOOTER
                return
            cut = max(search_from, len(pending) - keep)
            yield pending[:cut]
            more = next(self.cursor, None)
            if more is None:
                yield pending[cut:]  # the dump's end came first: it holds </mediawiki>
                return
            self._came_from(more[0])
            pending, search_from = pending[cut:] + more[1], 0

    def _off_chain(self, reached: int | None) -> None:
        """The next chunk's first block, where the plan found one, is not a block of the dump's
        compressed data: read from the start, the blocks pass it by (``reached``) or end before
        it, in data after the last stream that bzip2 ignores (an appended copy of part of the
        file, say). That chunk would read pages twice or pages of no dump: refuse."""
        stop = self.stop // 8  # type: ignore[operator]
        where = (f"the blocks go from before it to byte {reached // 8}" if reached is not None else
                 f"the bz2 data ends at byte {self.cursor.ended_at} before it")
        raise InputError(f"{self.path}: byte {stop}: the block where chunk {self.next_chunk} starts is "
                         f"not part of the dump's bz2 data ({where}); the file is damaged or has "
                         "something appended after its last stream (download it again)")

    def _tail_from(self, tail: list[tuple[int, bytes]], back: int) -> Iterator[bytes]:
        """The last ``back`` bytes of the skipped blocks in ``tail``, each piece named by its own
        block (a <page> tag may be cut over several tiny blocks)."""
        start = sum(len(d) for _, d in tail) - back
        for first, data in tail:
            if start < len(data):
                cut = max(start, 0)
                self._came_from(first, _place(data, cut))
                yield data[cut:]
            start -= len(data)

    def _came_from(self, first: int | None, start: tuple[int, int] = (1, 0)) -> None:
        """The pieces yielded next come from the block at bit ``first`` (None: the closing tag
        this reader adds), from ``start`` (line, column) of its text on."""
        self._part_start = start
        if first is None:
            self._part, self._part_numbered = "the end of the chunk's last bz2 block", False
        else:
            self._part, self._part_numbered = f"bz2 block at bit {first} (byte {first // 8})", True

    def readinto(self, b) -> int:  # type: ignore[override]
        while self.offset >= len(self.pending):
            piece = next(self.pieces, None)
            if self._head is not None and (piece is None or len(self._head) + len(piece) >= _SNIFF_BYTES):
                head, self._head = self._head + (piece or b""), None
                sniff_head(self.path, head)  # the dump's own first bytes, or its checked header
            elif self._head is not None:
                self._head += piece  # type: ignore[operator]
            if piece is None:
                return 0
            self.origins.begin(self._part, self._part_numbered, self._part_start)
            self.origins.feed(piece)
            self.pending, self.offset = piece, 0
        n = min(len(b), len(self.pending) - self.offset)
        b[:n] = self.pending[self.offset:self.offset + n]
        self.offset += n
        return n
