"""MediaWiki XML dump → documents (id, title, text) as JSON lines in a fixed number of chunks.

The dump is read once, as a stream, by :func:`iter_pages` (a byte-level page scanner with
ElementTree behind it, :mod:`.pagescan`), which
also does the checks that make bad input fail loudly: a missing file, a truncated ``.bz2``, a
file that is not a MediaWiki export, a UTF-16 dump. Wikitext → plain text is left to an engine:

* ``wikiextractor`` (default): each article goes through wikiextractor's ``Extractor`` with its
  JSON output, in a pool of worker processes; results come back in dump order.
* ``fast``: :mod:`.wikitext`, a short list of precompiled regexes, several times faster than
  wikiextractor; with the cleaning rules after it the corpus meets the same guarantees.
* ``gensim``: gensim's page reader and article processing with ``WikiCorpus``'s settings and a
  tokenizer that keeps every line of text whole, so Chinese runs of any length survive (its
  default tokenizer drops CJK runs longer than 15 characters and articles under 50 tokens).

Only the article namespace (``ns`` 0) is kept and redirects are skipped. The k-th article kept
goes to chunk ``k % chunks``: the assignment depends on the dump alone, never on timing or on the
number of processes, so the chunks are byte-identical run after run.
"""

from __future__ import annotations

import bz2
import io
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple, TypeVar

from ..procpool import WorkerDied, WorkerPool
from ..stats import StageStats
from ..textio import InputError, atomic_outputs
from .wikitext import wikitext_to_text

ENGINES = ("wikiextractor", "fast", "gensim")
#: What becomes of section headings (``== 歷史 ==``): a line of their own text, or nothing.
HEADINGS = ("keep", "drop")
T = TypeVar("T")
R = TypeVar("R")
BATCH_PAGES = 256


class Page(NamedTuple):
    """One ``<page>`` of the dump. A named tuple, not a frozen dataclass: one is made for every
    page of the dump, and a frozen dataclass's ``__init__`` (a guarded ``__setattr__`` per field)
    cost three times as much."""

    id: int
    title: str
    ns: int
    redirect: bool
    text: str
    revid: str = ""
    #: The revision's ``<timestamp>`` as written in the dump (ISO 8601, UTC); "" if absent.
    timestamp: str = ""


@dataclass(frozen=True)
class SiteInfo:
    base_url: str = ""
    namespaces: tuple[str, ...] = ()
    template_namespace: str = "Template"


class _CountingReader(io.RawIOBase):
    """Counts decompressed bytes (the MB/s of XML that stats.json reports)."""

    def __init__(self, inner: IO[bytes]):
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.count += len(data)
        return data

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def _sniff(path: Path, head: bytes) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 2 and b"\x00" in head[:4]):
        raise InputError(
            f"{path}: byte 0: the dump is UTF-16 encoded; MediaWiki dumps are UTF-8 "
            "(convert with: iconv -f UTF-16 -t UTF-8)"
        )
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<?xml"):
        end = start.find(b"?>")
        start = start[end + 2 :].lstrip() if end >= 0 else b""
    while start.startswith(b"<!--"):
        end = start.find(b"-->")
        start = start[end + 3 :].lstrip() if end >= 0 else b""
    if not start.startswith(b"<mediawiki"):
        raise InputError(
            f"{path}: byte 0: not a MediaWiki XML export (expected a <mediawiki> root element)"
        )


def open_dump(path: str | os.PathLike[str], stack: ExitStack) -> tuple[IO[bytes], Callable[[], int]]:
    """Open a ``.xml`` or ``.xml.bz2`` dump after checking it looks like one.

    Returns the decompressed stream and a function giving the current byte offset in the file
    on disk (for error messages about truncation and for the progress bar).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: dump not found")
    raw = stack.enter_context(open(p, "rb"))
    magic = raw.read(3)
    raw.seek(0)
    if p.suffix == ".bz2" or magic == b"BZh":
        if magic != b"BZh":
            raise InputError(f"{p}: byte 0: not a bzip2 file (no 'BZh' signature)")
        stream: IO[bytes] = stack.enter_context(bz2.BZ2File(raw))
    else:
        stream = raw
    try:
        head = stream.peek(512)[:512] if hasattr(stream, "peek") else b""
    except (OSError, EOFError) as err:
        raise _decompress_error(p, raw.tell(), err) from None
    _sniff(p, head)
    return stream, raw.tell


def _decompress_error(path: Path, offset: int, err: BaseException) -> InputError:
    if isinstance(err, EOFError):
        return InputError(
            f"{path}: byte {offset}: truncated bz2 stream (the file ends before the end of the "
            "compressed data; download it again)"
        )
    return InputError(f"{path}: byte {offset}: cannot decompress ({err})")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def iter_pages(path: str | os.PathLike[str], stats: StageStats | None = None,
               siteinfo: list[SiteInfo] | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[Page]:
    """Every page of the dump, in dump order, parsed as a stream in bounded memory.

    ``siteinfo`` (a list) receives the dump's :class:`SiteInfo` once it has been read;
    ``progress`` is called with the compressed byte offset after each page.
    """
    p = Path(path)
    with ExitStack() as stack:
        stream, offset = open_dump(p, stack)
        yield from parse_pages(stream, p, offset, stats, siteinfo, progress)


def _siteinfo_of(root: ET.Element) -> SiteInfo | None:
    """The dump's SiteInfo from its parsed ``<mediawiki>`` header, if it has a ``<siteinfo>``."""
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    found = root.find(f"{ns}siteinfo")
    return _read_siteinfo(found, ns) if found is not None else None


def _page_scanner(stream: IO[bytes], path: Path, header: Callable[[ET.Element], None],
                  first_line: int = 1):
    """A :class:`~.pagescan.PageScanner` making :class:`Page` objects; errors name ``path``."""
    from .pagescan import PageScanner

    return PageScanner(stream, str(path), Page, lambda elem: _read_page(elem, "", path),
                       header, first_line)


def parse_pages(stream: IO[bytes], p: Path, offset: Callable[[], int],
                stats: StageStats | None = None, siteinfo: list[SiteInfo] | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[Page]:
    """Pages of the MediaWiki XML in ``stream``; errors name ``p`` and ``offset()``.

    Read by :class:`~.pagescan.PageScanner` (pages cut from the bytes, ElementTree for the header
    and for any page not in MediaWiki's usual shape); :func:`parse_pages_etree` is the reference.
    """
    def header(root: ET.Element) -> None:
        found = _siteinfo_of(root)
        if siteinfo is not None and found is not None:
            siteinfo.append(found)

    scanner = _page_scanner(stream, p, header)
    try:
        for pg in scanner:
            if stats is not None:
                stats.bytes_in = scanner.count
            if progress is not None:
                progress(offset())
            yield pg  # type: ignore[misc]
    except (EOFError, OSError) as err:
        raise _decompress_error(p, offset(), err) from None
    if stats is not None:
        stats.bytes_in = scanner.count
        if scanner.fallbacks:
            stats.counters["pages_read_by_elementtree"] += scanner.fallbacks


def parse_pages_etree(stream: IO[bytes], p: Path, offset: Callable[[], int],
                      stats: StageStats | None = None, siteinfo: list[SiteInfo] | None = None,
                      progress: Callable[[int], None] | None = None) -> Iterator[Page]:
    """The same pages as :func:`parse_pages`, by ElementTree's ``iterparse`` (several times
    slower; kept as the reference the scanner is tested against)."""
    counting = _CountingReader(stream)
    parser = ET.iterparse(io.BufferedReader(counting, 1 << 16), events=("start", "end"))
    root = None
    ns_prefix = ""
    try:
        for event, elem in parser:
            if root is None:
                root = elem
                if _local(elem.tag) != "mediawiki":
                    raise InputError(f"{p}: not a MediaWiki XML export (root <{_local(elem.tag)}>)")
                ns_prefix = elem.tag[: elem.tag.index("}") + 1] if elem.tag.startswith("{") else ""
                continue
            if event != "end":
                continue
            tag = elem.tag[len(ns_prefix):] if elem.tag.startswith(ns_prefix) else elem.tag
            if tag == "siteinfo" and siteinfo is not None:
                siteinfo.append(_read_siteinfo(elem, ns_prefix))
            elif tag == "page":
                page = _read_page(elem, ns_prefix, p)
                root.clear()
                if stats is not None:
                    stats.bytes_in = counting.count
                if progress is not None:
                    progress(offset())
                yield page
    except (EOFError, OSError) as err:
        raise _decompress_error(p, offset(), err) from None
    except ET.ParseError as err:
        from .pagescan import etree_error

        raise etree_error(str(p), err) from None
    if stats is not None:
        stats.bytes_in = counting.count


def _read_siteinfo(elem: ET.Element, ns: str) -> SiteInfo:
    base = elem.findtext(f"{ns}base") or ""
    names: list[str] = []
    template = "Template"
    for n in elem.iter(f"{ns}namespace"):
        if n.text:
            names.append(n.text)
            if n.get("key") == "10":
                template = n.text
    return SiteInfo(base[: base.rfind("/")] if base else "", tuple(names), template)


def _read_page(elem: ET.Element, ns: str, path: Path) -> Page:
    title = elem.findtext(f"{ns}title") or ""
    page_id = elem.findtext(f"{ns}id")
    try:
        pid = int(page_id or "")
        nsnum = int(elem.findtext(f"{ns}ns") or "0")
    except ValueError:
        raise InputError(f"{path}: page {title!r}: missing or non-numeric <id>/<ns>") from None
    rev = elem.find(f"{ns}revision")
    text = ""
    revid = ""
    timestamp = ""
    if rev is not None:
        text = rev.findtext(f"{ns}text") or ""
        revid = rev.findtext(f"{ns}id") or ""
        timestamp = (rev.findtext(f"{ns}timestamp") or "").strip()
    return Page(pid, title, nsnum, elem.find(f"{ns}redirect") is not None, text, revid, timestamp)


# --- engines ---------------------------------------------------------------------------------

_WORKER_SITE: SiteInfo = SiteInfo()
_KEEP_HEADINGS = True


def _init_worker(site: SiteInfo, keep_headings: bool = True) -> None:
    global _WORKER_SITE, _KEEP_HEADINGS
    _WORKER_SITE = site
    _KEEP_HEADINGS = keep_headings


def set_headings(headings: str) -> None:
    """``keep`` or ``drop`` section headings in this process and the workers it starts."""
    global _KEEP_HEADINGS
    if headings not in HEADINGS:
        raise ValueError(f"unknown headings setting {headings!r}; choose one of {', '.join(HEADINGS)}")
    _KEEP_HEADINGS = headings == "keep"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, as ``html.unescape`` does.

    wikiextractor and gensim turn an escaped entity such as ``&amp;#xD800;`` into the lone
    surrogate it names, which no UTF-8 file can hold: writing the chunk would fail.
    """
    return _SURROGATE.sub("\ufffd", text)


class RevisionClock:
    """Stands in for the ``time`` module inside ``wikiextractor.extract``: the time of the page
    being extracted, not of the run.

    Why: ``Extractor.clean_text`` fills the magic words CURRENTYEAR, CURRENTMONTH, CURRENTDAY,
    CURRENTHOUR and CURRENTTIME from ``time.strftime`` for every page, so ``{{CURRENTYEAR}}`` in
    an article would become the year of the run, and the corpus would change from one day (or
    one chunk job across midnight) to the next. Here they read the page's revision
    ``<timestamp>`` (UTC) — what the editor saw when saving it — so the text depends on the dump
    alone. A page with no timestamp, or one not in MediaWiki's ``YYYY-MM-DDTHH:MM:SSZ`` form,
    gets empty magic words, as the fast engine gives.
    """

    _FORM = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    #: The formats clean_text asks for, as slices of the timestamp (no parsing per page).
    _SLICES = {"%Y": slice(0, 4), "%m": slice(5, 7), "%d": slice(8, 10), "%H": slice(11, 13),
               "%H:%M:%S": slice(11, 19)}

    def __init__(self) -> None:
        self._stamp = ""

    def set(self, timestamp: str) -> None:
        """Make ``timestamp`` (a page's ``<timestamp>``) the current time."""
        self._stamp = timestamp if self._FORM.fullmatch(timestamp) else ""

    def strftime(self, fmt: str, t: object = None) -> str:
        if t is not None:
            return time.strftime(fmt, t)  # type: ignore[arg-type]
        if not self._stamp:
            return ""
        part = self._SLICES.get(fmt)
        if part is not None:
            return self._stamp[part]
        return time.strftime(fmt, time.strptime(self._stamp, "%Y-%m-%dT%H:%M:%SZ"))

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


_CLOCK = RevisionClock()
_EXTRACTOR: type | None = None


def _wikiextractor_class() -> type:
    """wikiextractor's ``Extractor``, with less regex work per page (``wikiextractor_speedups``,
    installed in this process before its first page) and the pages' own clock
    (:class:`RevisionClock`)."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        import wikiextractor.extract as module

        from .wikiextractor_speedups import install

        install()
        module.time = _CLOCK  # type: ignore[assignment]
        _EXTRACTOR = module.Extractor
    return _EXTRACTOR


def _wikiextractor_text(page: Page) -> str:
    """The ``text`` of wikiextractor's JSON output for ``page`` (``Extractor.extract`` joins the
    lines of ``clean_text`` so; called directly, the JSON encoding and decoding is saved)."""
    site = _WORKER_SITE
    extractor = _wikiextractor_class()(
        str(page.id), page.revid, site.base_url, page.title, [page.text],
        knownNamespaces=set(site.namespaces) | {site.template_namespace},
        templatePrefix=site.template_namespace + ":",
        to_json=True,
    )
    _CLOCK.set(page.timestamp)
    return _encodable("\n".join(_headings(extractor.clean_text(page.text, mark_headers=True))))


def _headings(lines: list[str]) -> list[str]:
    """wikiextractor's lines with its headings as plain text, or without them.

    wikiextractor ends a heading in '.' unless it ends in '!' or '?' (``歷史.``), which in a
    corpus of Chinese became a stray ASCII period token (``历史 .``). Asked to mark headings, it
    starts them with "## " (no other line can: list lines, which start with '#', are dropped), so
    they are found exactly; the '.' it added is the last character, taken off again.
    """
    if not any(line.startswith("## ") for line in lines):
        return lines
    if not _KEEP_HEADINGS:
        return [line for line in lines if not line.startswith("## ")]
    return [(line[3:-1] if line.endswith(".") else line[3:]) if line.startswith("## ") else line
            for line in lines]


def _fast_text(page: Page) -> str:
    return wikitext_to_text(page.text, _KEEP_HEADINGS)


_PAGE_TEXT = {"wikiextractor": _wikiextractor_text, "fast": _fast_text}


def _is_article(page: Page, stats: StageStats) -> bool:
    """Whether a page is an article; counts it in (its wikitext is the stage's chars_in)."""
    stats.counters["pages"] += 1
    stats.chars_in += len(page.text)
    if page.ns != 0:
        stats.counters["skipped_namespace"] += 1
        return False
    if page.redirect:
        stats.counters["skipped_redirect"] += 1
        return False
    return True


def _batched(items: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_PAGES:
            yield batch
            batch = []
    if batch:
        yield batch


def _pooled(batches: Iterator[list[T]], fn: Callable[[T], R], processes: int,
            start_pool: Callable[[], WorkerPool]) -> Iterator[tuple[list[T], list[R]]]:
    """Each batch with ``fn`` of its items, in order; the workers do one batch while the next
    is read. The pool starts with the first batch: its initializer may need what reading that
    batch found (the site's namespaces)."""
    with ExitStack() as stack:
        pool = None
        pending = None
        for batch in batches:
            if pool is None:
                pool = stack.enter_context(start_pool())
            job = (batch, pool.map(fn, batch, chunksize=-(-len(batch) // processes)))
            if pending is not None:
                yield pending[0], pending[1].get()
            pending = job
        if pending is not None:
            yield pending[0], pending[1].get()


def _page_docs(pages: Iterator[Page], site: list[SiteInfo], processes: int, what: str,
               engine: str = "wikiextractor") -> Iterator[dict]:
    """Plain text of ``pages`` (articles only), in order; ``site`` fills while pages are read."""
    page_text = _PAGE_TEXT[engine]

    def emit(batch: list[Page], texts: list[str]) -> Iterator[dict]:
        for pg, text in zip(batch, texts):
            yield {"id": pg.id, "title": pg.title, "text": text}

    if processes <= 1:
        for batch in _batched(pages):
            _init_worker(site[0] if site else SiteInfo(), _KEEP_HEADINGS)
            yield from emit(batch, [page_text(pg) for pg in batch])
        return
    def start() -> WorkerPool:  # once the first batch is read: site is known by then
        return WorkerPool(processes, what, _init_worker, (site[0] if site else SiteInfo(), _KEEP_HEADINGS))

    for batch, texts in _pooled(_batched(pages), page_text, processes, start):
        yield from emit(batch, texts)


BLOCK_BYTES = 4 << 20

def _block_docs(task: tuple[bytes, int, str, str]) -> tuple[list[dict], dict[str, int]]:
    """Worker: the articles of one block of ``<page>`` elements, as documents, and its counters."""
    block, first_line, source, engine = task
    stats = StageStats("extract")
    scanner = _page_scanner(io.BytesIO(b"<mediawiki>" + block + b"</mediawiki>"), Path(source),
                            lambda root: None, first_line)
    page_text = _PAGE_TEXT[engine]
    docs = [{"id": pg.id, "title": pg.title, "text": page_text(pg)}
            for pg in scanner if _is_article(pg, stats)]  # type: ignore[arg-type]
    if scanner.fallbacks:
        stats.counters["pages_read_by_elementtree"] += scanner.fallbacks
    return docs, dict(stats.counters) | {_CHARS_IN: stats.chars_in}


def _parallel_docs(dump: Path, stats: StageStats, processes: int, engine: str,
                   progress: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Documents of a single-stream dump, with this process only decompressing.

    One bz2 stream can be decompressed by one process only, so that process does nothing else:
    it cuts the XML into blocks of whole pages and the pool parses them and converts their
    wikitext. Blocks come back in order (at most two per worker in flight, so memory stays
    bounded), hence the same documents in the same order as with one process.
    """
    from collections import deque

    site: list[SiteInfo] = []
    with ExitStack() as stack:
        stream, offset = open_dump(dump, stack)
        scanner = _page_scanner(stream, dump, lambda root: site.append(_siteinfo_of(root) or SiteInfo()))
        pool = None
        pending: deque = deque()
        try:
            for block, line in scanner.blocks(BLOCK_BYTES):
                if pool is None:
                    pool = stack.enter_context(WorkerPool(processes, str(dump), _init_worker,
                                                          (site[0] if site else SiteInfo(), _KEEP_HEADINGS)))
                pending.append(pool.apply(_block_docs, (block, line, str(dump), engine)))
                stats.bytes_in = scanner.count
                if progress is not None:
                    progress(offset())
                while len(pending) >= 2 * processes:
                    yield from _collect(pending.popleft().get(), stats)
            while pending:
                yield from _collect(pending.popleft().get(), stats)
        except (EOFError, OSError) as err:
            if isinstance(err, WorkerDied):
                raise
            raise _decompress_error(dump, offset(), err) from None
        stats.bytes_in = scanner.count


#: A worker's chars_in, sent back beside its counters (and taken out of them).
_CHARS_IN = "_chars_in"


def _collect(result: tuple[list[dict], dict[str, int]], stats: StageStats) -> list[dict]:
    docs, counters = result
    stats.chars_in += counters.pop(_CHARS_IN, 0)
    stats.counters.update(counters)
    return docs


def _gensim_keep_lines(text: str, token_min_len: int, token_max_len: int, lower: bool) -> list[str]:
    """A WikiCorpus tokenizer that keeps every non-empty line whole (and never lower-cases)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


_HEADING_LINE = re.compile(r"(=+)\s*(.*?)\s*\1")


def _gensim_headings(lines: list[str]) -> list[str]:
    """Heading lines (``== 歷史 ==``) as their text, or left out, as the other engines do."""
    out = []
    for line in lines:
        m = _HEADING_LINE.fullmatch(line)
        if m is None:
            out.append(line)
        elif _KEEP_HEADINGS and m.group(2):
            out.append(m.group(2))
    return out


def _gensim_not_redirect(elem, *args, **kwargs) -> bool:
    namespace = kwargs.get("namespace", "")
    return elem.find(f"{{{namespace}}}redirect") is None


def _gensim_docs(dump: Path, stats: StageStats, processes: int) -> Iterator[dict]:
    """gensim's own page reader and article processing, with ``WikiCorpus``'s settings.

    Why not ``WikiCorpus.get_texts``: it forks a reader process and then a pool from a process
    that already runs the pool's threads, and waits on a queue with no timeout, so a reader that
    dies or a worker that wedges hangs the job for good (one such hang stopped a CI run). Here
    the same gensim functions run in this process, with the bounded, in-order pool the other
    engines use: the same documents, and any failure surfaces as an error.
    """
    from functools import partial

    from gensim.corpora.dictionary import Dictionary
    from gensim.corpora.wikicorpus import (IGNORED_NAMESPACES, WikiCorpus, extract_pages,
                                           process_article)

    if dump.suffix != ".bz2":
        raise InputError(f"{dump}: the gensim engine reads .xml.bz2 dumps only (compress it with bzip2)")
    with ExitStack() as stack:  # same up-front checks as the default engine
        open_dump(dump, stack)
    corpus = WikiCorpus(
        str(dump), processes=1, dictionary=Dictionary(), metadata=True,
        tokenizer_func=_gensim_keep_lines, article_min_tokens=1, lower=False,
        filter_namespaces=("0",), filter_articles=_gensim_not_redirect,
    )
    article = partial(process_article, tokenizer_func=corpus.tokenizer_func,
                      token_min_len=corpus.token_min_len, token_max_len=corpus.token_max_len,
                      lower=corpus.lower)
    ignored = tuple(ns + ":" for ns in IGNORED_NAMESPACES)
    stats.bytes_in = dump.stat().st_size

    def kept(results: list[tuple[list[str], str, str]]) -> Iterator[dict]:
        for lines, title, pageid in results:
            if len(lines) < corpus.article_min_tokens or title.startswith(ignored):
                continue
            stats.counters["pages"] += 1
            if any(line.startswith("=") for line in lines):  # gensim leaves "== 歷史 ==" as it is
                lines = _gensim_headings(lines)
            yield {"id": int(pageid), "title": title, "text": _encodable("\n".join(lines))}

    with bz2.BZ2File(dump) as raw:
        try:
            def counted(title: str, text: str, pageid: str) -> tuple[str, str, str]:
                stats.chars_in += len(text)  # the wikitext of the articles gensim reads
                return text, title, pageid

            pages = (counted(*page) for page
                     in extract_pages(raw, corpus.filter_namespaces, corpus.filter_articles))
            if processes <= 1:
                for batch in _batched(pages):
                    yield from kept([article(a) for a in batch])
                return
            for _, results in _pooled(_batched(pages), article, processes,
                                      lambda: WorkerPool(processes, str(dump))):
                yield from kept(results)
        except EOFError:
            raise InputError(f"{dump}: truncated bz2 stream") from None
        except ET.ParseError as err:
            from .pagescan import etree_error

            raise etree_error(str(dump), err) from None
        except WorkerDied:
            raise
        except OSError as err:
            raise InputError(f"{dump}: not a readable bz2 file ({err})") from None


def chunk_paths(outdir: str | os.PathLike[str], chunks: int,
                name_template: str = "chunk-{index:03d}.jsonl") -> list[Path]:
    """Output paths; the template may use ``index`` (0-based), ``number`` (1-based), ``total``."""
    try:
        paths = [Path(outdir) / name_template.format(index=i, number=i + 1, total=chunks)
                 for i in range(chunks)]
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"bad chunk name template {name_template!r}: {err!r}; "
                         "use {index}, {number} and {total}") from None
    if len(set(paths)) != len(paths):
        raise ValueError(f"chunk name template {name_template!r} gives the same name to several "
                         "chunks; put {index} or {number} in it")
    return paths


def extract_dump(dump: str | os.PathLike[str], outputs: list[Path], engine: str = "wikiextractor",
                 processes: int | None = None,
                 progress: Callable[[int], None] | None = None) -> StageStats:
    """Extract the articles of ``dump`` round-robin into the ``outputs`` JSON-lines files."""
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not outputs:
        raise ValueError("need at least one output chunk")
    dump = Path(dump)
    processes = processes or os.cpu_count() or 1
    stats = StageStats("extract").start()
    stats.counters[f"engine_{engine}"] = 1
    if engine in _PAGE_TEXT and processes > 1:
        docs = _parallel_docs(dump, stats, processes, engine, progress)
    elif engine in _PAGE_TEXT:
        site: list[SiteInfo] = []
        pages = (pg for pg in iter_pages(dump, stats, site, progress) if _is_article(pg, stats))
        docs = _page_docs(pages, site, processes, str(dump), engine)
    else:
        docs = _gensim_docs(dump, stats, processes)
    _write_round_robin(docs, outputs, stats, dump)
    return stats.stop()


def chunk_docs(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None, chunk: int,
               chunks: int, stats: StageStats, processes: int = 1,
               engine: str = "wikiextractor",
               progress: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Documents (id, title, text) of chunk ``chunk`` of ``chunks`` of a ``.bz2`` dump.

    Chunk k holds the k-th contiguous run of the dump's pages, and only its part of the file is
    decompressed: its bz2 streams when ``index`` is a multistream index (or a plan made from
    one), else its bz2 blocks (:mod:`.bz2blocks`). Concatenated, the chunks give the pages of the
    whole dump in order. ``progress`` is called with the compressed bytes of the chunk read so far.
    """
    from .multistream import open_chunk

    if engine not in _PAGE_TEXT:
        raise ValueError(f"extraction by chunks supports the engines {', '.join(_PAGE_TEXT)}, not {engine!r}")
    dump = Path(dump)
    site: list[SiteInfo] = []
    stats.counters[f"engine_{engine}"] = 1
    reader = open_chunk(dump, index, chunk, chunks)
    try:
        report = (lambda _position: progress(reader.done)) if progress is not None else None
        pages = (pg for pg in parse_pages(reader, dump, lambda: reader.position, stats, site, report)
                 if _is_article(pg, stats))
        yield from _page_docs(pages, site, processes, str(dump), engine)
    except InputError as err:
        # a line of the chunk's own document (header, its streams or blocks, closing tag): name
        # the stream or block of the dump it came from instead
        raise reader.origins.relocate(err, str(dump)) from None
    finally:
        reader.close()
        stats.docs_in = stats.counters["pages"]


def extract_chunk(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None,
                  chunk: int, chunks: int, output: Path,
                  processes: int | None = None,
                  engine: str = "wikiextractor",
                  progress: Callable[[int], None] | None = None) -> StageStats:
    """Extract chunk ``chunk`` of ``chunks`` of a ``.bz2`` dump into ``output`` (JSON lines)."""
    return extract_chunks(dump, index, [chunk], chunks, {chunk: output}, processes, engine,
                          (lambda _k, done: progress(done)) if progress is not None else None)


def extract_chunks(dump: str | os.PathLike[str], index: str | os.PathLike[str] | None,
                   todo: list[int], chunks: int, outputs: Sequence[Path] | Mapping[int, Path],
                   processes: int | None = None, engine: str = "wikiextractor",
                   progress: Callable[[int, int], None] | None = None) -> StageStats:
    """Extract chunks ``todo`` of ``chunks`` of a ``.bz2`` dump into ``outputs[k]``, all or none.

    Every chunk's output is kept under its temporary name until the last one is done: a chunk
    that fails (a damaged stream late in the dump) leaves no earlier chunk behind, so a directory
    of chunks is never a part of the dump that looks whole. ``progress(k, done)`` gets chunk
    ``k``'s compressed bytes read so far.
    """
    result = StageStats("extract")
    with atomic_outputs([outputs[k] for k in todo]) as opened:
        files = dict(zip(todo, opened))
        for k in todo:
            stats = StageStats("extract").start()
            advance = (lambda done, k=k: progress(k, done)) if progress is not None else None
            docs = chunk_docs(dump, index, k, chunks, stats, processes or 1, engine, advance)
            _write_docs(docs, [files[k]], stats, Path(dump))
            result.merge(stats.stop())
    return result


def _write_round_robin(docs: Iterator[dict], outputs: list[Path], stats: StageStats, dump: Path) -> None:
    """Deal ``docs`` to the JSON-lines files ``outputs`` in turn, written atomically."""
    with atomic_outputs(outputs) as files:
        _write_docs(docs, files, stats, dump)


def _write_docs(docs: Iterator[dict], files: list[IO[str]], stats: StageStats, dump: Path) -> None:
    """Deal ``docs`` to ``files`` in turn. JSON-lines chunks are merged back on the page id
    (:mod:`.gather`), so ids must increase through the dump, as in every MediaWiki dump: a page
    out of order is an error here rather than a corpus in another order than the dump's."""
    last = None
    for k, doc in enumerate(docs):
        if last is not None and doc["id"] <= last:
            raise InputError(
                f"{dump}: page id {doc['id']} ({doc['title']!r}) comes after page id {last}; chunks "
                "in JSON lines are merged on the page id, which must increase through the dump "
                "(a .bz2 dump cut into plain-text chunks, the workflow's default, keeps its order)")
        last = doc["id"]
        stats.count_out(doc["text"])
        files[k % len(files)].write(json.dumps(doc, ensure_ascii=False) + "\n")
    stats.docs_in = stats.counters["pages"]
