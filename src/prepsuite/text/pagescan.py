"""A byte-level reader of MediaWiki export XML: pages without building an element tree.

Why: ElementTree's ``iterparse`` builds every element of every page, and on a dump it cost more
than the bz2 decompression itself (12.9 s against 3.5 s for this reader per 100 MB of XML, in
one run; docs/benchmarks.md), while extraction is the largest part of the corpus job. A
pages-articles export has a fixed shape — ``<page>`` elements whose text content never holds a
raw ``<`` — so one regex over the bytes finds every page and its few fields at once.

Correctness is kept by falling back to ElementTree page by page: a page whose bytes are not in
the shape MediaWiki writes (CDATA, comments, carriage returns, control characters, an unknown
entity, invalid UTF-8, fields out of order …) is parsed by ``ET.fromstring``, which either gives
the same :class:`Page` ElementTree would have given or raises the parse error, translated to the
line and column of the whole file. The header (``<mediawiki>`` and ``<siteinfo>``) is always
parsed by ElementTree. Pages are equal to the ElementTree reader's on every test dump (tested).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import IO

from ..textio import InputError

_READ = 1 << 20
PAGE_OPEN = b"<page>"
_PAGE_CLOSE = b"</page>"
END = b"</mediawiki>"
#: What closes a document made of some of a dump's pages (a multistream or bz2-block chunk).
FOOTER = END + b"\n"

_CHARS = rb"[^<&\x00-\x08\x0b\x0c\x0e-\x1f]*"  # character data needing no decoding of markup


def _elements(a: str, b: str) -> bytes:
    """Revision fields: elements of plain character data, nested one level at most (<contributor>)."""
    tag = rb"[A-Za-z_][\w.:-]*"
    leaf = rb"<(?P<%s>%s)(?:\s[^<>]*)?(?:/>|>%s</(?P=%s)>)" % (b.encode(), tag, _CHARS, b.encode())
    return (rb"(?:\s*<(?P<%s>%s)(?:\s[^<>]*)?(?:/>|>%s</(?P=%s)>|>(?:\s*%s)*\s*</(?P=%s)>))*\s*"
            % (a.encode(), tag, _CHARS, a.encode(), leaf, a.encode()))


# title and text content: no '<', CR or control bytes ('&' entities are decoded after)
_TEXT_CHARS = rb"[^<\r\x00-\x08\x0b\x0c\x0e-\x1f]*"
# The page's own fields up to its revision's id, and the revision's text: the same in both
# patterns below, so that both give the same groups for a page.
_PAGE_HEAD = (
    rb"<page>\s*<title>(?P<title>" + _TEXT_CHARS + rb")</title>\s*<ns>(?P<ns>-?\d+)</ns>\s*"
    rb"<id>(?P<id>\d+)</id>\s*(?P<redirect><redirect\b[^<>]*/>\s*)?<revision>\s*<id>(?P<revid>\d+)</id>"
)
_PAGE_TEXT = rb"<text\b[^<>]*?(?:/>|>(?P<text>" + _TEXT_CHARS + rb")</text>)"

# One page exactly as MediaWiki writes it. Text content holds no '<' (the export escapes it), so
# a match can neither start nor end inside a page's text.
_PAGE = re.compile(
    _PAGE_HEAD + _elements("a", "b") + _PAGE_TEXT + _elements("c", "d") + rb"</revision>\s*</page>"
)
# The same pages in the field order MediaWiki's exports use (parentid, timestamp, contributor,
# minor, comment, origin, model, format, text, sha1), spelt out: twice as fast as _PAGE's
# generic fields, whose every element costs a tag-name scan, a back-reference and alternatives.
# Every page it matches, _PAGE matches too, from the same '<page>' to the same '</page>' (text
# holds no '<', so a page ends at its first '</page>') with the same groups; any other page is
# left to _PAGE. Its ``timestamp`` group is what _timestamp would find: the first <timestamp>
# after the revision id.
_USUAL_PAGE = re.compile(
    _PAGE_HEAD
    + rb"(?:\s*<parentid>\d+</parentid>)?\s*<timestamp>(?P<timestamp>" + _CHARS + rb")</timestamp>\s*<contributor>\s*"
    rb"(?:<username>" + _CHARS + rb"</username>\s*<id>\d+</id>|<ip>" + _CHARS + rb"</ip>)\s*</contributor>"
    rb"(?:\s*<minor\s*/>)?(?:\s*<comment>" + _CHARS + rb"</comment>)?(?:\s*<origin>\d+</origin>)?"
    rb"\s*<model>" + _CHARS + rb"</model>\s*<format>" + _CHARS + rb"</format>\s*"
    + _PAGE_TEXT + rb"(?:\s*<sha1>[0-9a-z]*</sha1>)?\s*</revision>\s*</page>"
)
_ENTITY = re.compile(r"&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


_TITLE = re.compile(rb"<title>([^<]{1,300})</title>")


def located(source: str, line: int, column: int, problem: str) -> InputError:
    """The error for ``problem`` at ``line``, ``column`` (1-based) of ``source``."""
    return InputError(f"{source}: line {line}, column {column}: {problem}", line=line, column=column,
                      problem=problem)


def etree_error(source: str, err: ET.ParseError) -> InputError:
    """ElementTree's error for a whole document, naming the line and column (1-based)."""
    line, col = err.position
    what = "truncated XML" if "no element found" in str(err) else "malformed XML"
    return located(source, line, col + 1, f"{what} ({_reason(err)})")


def _reason(err: ET.ParseError) -> str:
    """ElementTree's message without its own position (relative to what it was given)."""
    return re.sub(r": line \d+, column \d+$", "", str(err))


def _chars_or_raw(raw: bytes) -> str:
    try:
        return _chars(raw)
    except _Unusual:
        return raw.decode("utf-8", "replace")


class _Unusual(Exception):
    """The page is not in MediaWiki's usual shape: let ElementTree read it."""


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name[0] != "#":
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF):
        raise _Unusual  # ElementTree refuses it; let it say so
    return chr(code)


def _chars(raw: bytes) -> str:
    """Character data (already free of '<' and control bytes): decoded, entities replaced."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unusual from None
    if "]]>" in text:
        raise _Unusual  # not allowed in XML character data
    if "&" in text:
        replaced, n = _ENTITY.subn(_entity, text)
        if n != text.count("&"):
            raise _Unusual  # a bare '&' or an entity XML does not define
        return replaced
    return text


_TIMESTAMP = b"<timestamp>"


def _timestamp(buf: bytes, start: int, end: int) -> str:
    """The revision's ``<timestamp>`` between ``start`` and ``end`` (a matched page, whose text
    holds no raw ``<``, so the first one found is the element); "" if it has none."""
    at = buf.find(_TIMESTAMP, start, end)
    if at < 0:
        return ""
    at += len(_TIMESTAMP)
    return _chars_or_raw(buf[at: buf.index(b"<", at)]).strip()


class PageScanner:
    """Pages of the export XML in ``stream``, read in blocks; errors name ``source``.

    ``header`` is called once with the parsed ``<mediawiki>`` root (its ``<siteinfo>`` inside).
    ``page(id, title, ns, redirect, text, revid, timestamp)`` makes the caller's page object;
    ``etree_page`` makes it from an ElementTree ``<page>`` element (the fallback). ``count`` is
    the number of XML bytes read so far, ``fallbacks`` the number of pages ElementTree read.
    """

    def __init__(self, stream: IO[bytes], source: str,
                 page: Callable[..., object], etree_page: Callable[[ET.Element], object],
                 header: Callable[[ET.Element], None], first_line: int = 1):
        self.stream = stream
        self.source = source
        self.page = page
        self.etree_page = etree_page
        self.header = header
        self.count = 0
        self.fallbacks = 0
        self._buf = b""
        self._pos = 0  # everything before it has been handled
        self._line = first_line  # line number of _buf[_pos]
        self._eof = False

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self.stream.read(_READ)
        if not data:
            self._eof = True
            return False
        self.count += len(data)
        self._buf = self._buf[self._pos:] + data  # compact only when reading, not per page
        self._pos = 0
        return True

    def _consume(self, to: int) -> None:
        self._line += self._buf.count(b"\n", self._pos, to)
        self._pos = to

    def _where(self, pos: int) -> tuple[int, int]:
        """Line and column (1-based, column in bytes) of ``_buf[pos]`` in the whole XML."""
        line = self._line + self._buf.count(b"\n", self._pos, pos)
        return line, pos - self._buf.rfind(b"\n", 0, pos)

    def _error(self, pos: int, what: str) -> InputError:
        line, col = self._where(pos)
        return located(self.source, line, col, what)

    def _read_header(self) -> bool:
        """Parse everything before the first page; False if there is no page at all."""
        while True:
            at = self._buf.find(PAGE_OPEN)
            if at >= 0 or not self._more():
                break
        head = self._buf if at < 0 else self._buf[:at] + END
        try:
            root = ET.fromstring(head)
        except ET.ParseError as err:
            raise etree_error(self.source, err) from None
        name = root.tag.rsplit("}", 1)[-1]
        if name != "mediawiki":
            raise InputError(f"{self.source}: not a MediaWiki XML export (root <{name}>)")
        self.header(root)
        if at < 0:
            return False  # the whole document was the header
        self._consume(at)
        return True

    def __iter__(self) -> Iterator[object]:
        if not self._read_header():
            return
        while True:
            last = self._buf.rfind(_PAGE_CLOSE, self._pos)
            if last >= 0:  # every page up to there is complete
                yield from self._pages(last + len(_PAGE_CLOSE))
            if not self._more():
                break
        self._check_end()

    def blocks(self, size: int) -> Iterator[tuple[bytes, int]]:
        """The pages as blocks of bytes of about ``size``, each cut after a ``</page>``, with the
        line it starts on: for other processes to parse (:meth:`PageScanner` over one block),
        while this one only decompresses and cuts. The end of the dump is checked here."""
        if not self._read_header():
            return
        while self._more():
            if len(self._buf) - self._pos >= size:
                yield from self._cut()
        yield from self._cut()
        self._check_end()

    def _cut(self) -> Iterator[tuple[bytes, int]]:
        last = self._buf.rfind(_PAGE_CLOSE, self._pos)
        if last >= 0:
            end = last + len(_PAGE_CLOSE)
            block, line = self._buf[self._pos:end], self._line
            self._consume(end)
            yield block, line

    def _pages(self, end: int) -> Iterator[object]:
        """The complete pages in ``_buf[_pos:end]``: by the regex, or one by one by ElementTree."""
        buf, make = self._buf, self.page
        pos = self._pos
        usual, search = _USUAL_PAGE.match, _PAGE.search
        while True:
            # what _PAGE.finditer would give: the leftmost page from pos on (it opens at the first
            # '<page>'), taken by the faster _USUAL_PAGE where it matches there
            at = buf.find(PAGE_OPEN, pos, end)
            m = usual(buf, at, end) if at >= 0 else None
            if m is not None:
                stamp = m.group("timestamp")
            else:
                m = search(buf, pos, end)
                if m is None:
                    break
                stamp = None
            if m.start() != pos and buf[pos:m.start()].strip():
                yield from self._irregular(pos, m.start())
            pos = m.end()
            try:
                title, ns, pid, redirect, revid, raw = m.group("title", "ns", "id", "redirect", "revid", "text")
                page = make(int(pid), _chars(title), int(ns), redirect is not None,
                            _chars(raw) if raw else "", revid.decode("ascii"),
                            _timestamp(buf, m.end("revid"), pos) if stamp is None
                            else _chars_or_raw(stamp).strip())
            except _Unusual:
                self._consume(m.start())
                page = self._slow_page(buf[m.start():pos], m.start())
            yield page
        if pos < end and buf[pos:end].strip():
            yield from self._irregular(pos, end)
        self._consume(end)

    def _irregular(self, start: int, end: int) -> Iterator[object]:
        """Pages between ``start`` and ``end`` that the regex did not take: ElementTree's turn."""
        self._consume(start)
        while start < end:
            at = self._buf.find(PAGE_OPEN, start, end)
            gap = self._buf[start: at if at >= 0 else end].strip()
            if gap:
                where = self._buf.find(gap[:1], start)
                raise self._error(where, f"malformed XML (unexpected {gap[:40]!r} between pages)")
            if at < 0:
                return
            close = self._buf.find(_PAGE_CLOSE, at, end)
            stop = end if close < 0 else close + len(_PAGE_CLOSE)
            self._consume(at)
            yield self._slow_page(self._buf[at:stop], at)
            start = stop

    def _slow_page(self, block: bytes, start: int) -> object:
        self.fallbacks += 1
        try:
            return self.etree_page(ET.fromstring(block))
        except ET.ParseError as err:
            line, col = err.position
            line0, col0 = self._where(start)
            at_line = line0 + line - 1
            at_col = col0 + col if line == 1 else col + 1
            title = _TITLE.search(block)
            page = f" in the page titled {_chars_or_raw(title.group(1))!r}" if title else ""
            raise located(self.source, at_line, at_col, f"malformed XML{page} ({_reason(err)})") from None

    def _check_end(self) -> None:
        """After the last complete page: only ``</mediawiki>`` may be left."""
        if self._buf.find(PAGE_OPEN, self._pos) >= 0:
            raise self._error(len(self._buf), "truncated XML (the file ends inside a <page>)")
        tail = self._buf[self._pos:].strip()
        if tail == END:
            return
        if not tail or END.startswith(tail):
            raise self._error(len(self._buf), "truncated XML (the file ends before </mediawiki>)")
        raise self._error(self._buf.find(tail[:1], self._pos), f"malformed XML (unexpected {tail[:40]!r} after the last page)")
