"""Reading and writing the line formats every text stage shares.

A stage sees documents as :class:`Record` objects whatever the file looks like, so plain text
(one document per line, the way ``opencc`` and ``python -m jieba`` are used on any file) and JSON
lines (the ``text`` field, other fields carried through untouched) take the same code path.
Outputs are written to a temporary file beside the target and renamed into place only when the
stage finished, so an interrupted run never leaves a truncated file that looks complete.
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import json
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STDIO = "-"


class InputError(ValueError):
    """Bad input: the message names the file and the line or byte offset.

    An error found at a place in an XML document also carries that place (``line``, ``column``,
    1-based) and what is wrong there (``problem``), so that a caller that made the document
    from parts of a file (a chunk of a dump) can say where in the file the place lies.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 problem: str | None = None):
        super().__init__(message)
        self.line, self.column, self.problem = line, column, problem


@dataclass
class Record:
    """One document: its text, where it came from, and (for JSON lines) the other fields."""

    text: str
    lineno: int
    fields: dict[str, Any] | None = None
    #: UTF-8 bytes of ``text`` when a stage has counted them already, else -1: the next stage's
    #: stats take it from here instead of encoding the text again.
    size: int = -1

    def with_text(self, text: str, size: int = -1) -> "Record":
        return Record(text, self.lineno, self.fields, size)


@dataclass
class DecodeCounter:
    """Counts the bytes dropped while decoding, which ``iconv -c`` used to drop silently."""

    invalid_bytes: int = 0
    lines_with_invalid_bytes: int = 0


def detect_format(path: str, fmt: str = "auto") -> str:
    """``jsonl`` for ``*.jsonl`` paths, otherwise ``text``; an explicit choice wins."""
    if fmt != "auto":
        if fmt not in ("text", "jsonl"):
            raise ValueError(f"unknown format {fmt!r}; choose text, jsonl or auto")
        return fmt
    return "jsonl" if str(path).endswith(".jsonl") else "text"


def _decode(raw: bytes, counter: DecodeCounter) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        dropped = 0

        def drop(err: UnicodeDecodeError) -> tuple[str, int]:
            nonlocal dropped
            dropped += err.end - err.start
            return "", err.end

        codecs.register_error("prepsuite-drop", drop)
        text = raw.decode("utf-8", errors="prepsuite-drop")
        counter.invalid_bytes += dropped
        counter.lines_with_invalid_bytes += 1
        return text


@contextmanager
def open_binary_input(path: str) -> Iterator[IO[bytes]]:
    if path == STDIO:
        yield sys.stdin.buffer
        return
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    with open(p, "rb") as fh:
        yield fh


def read_records(
    path: str, fmt: str = "auto", counter: DecodeCounter | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Record]:
    """Stream documents from ``path`` (``-`` for stdin).

    Invalid UTF-8 bytes are dropped and counted in ``counter``; a JSON line that does not parse,
    or has no string ``text`` field, is an :class:`InputError` naming the file and line, because
    guessing would silently lose a document.
    """
    fmt = detect_format(path, fmt)
    counter = counter if counter is not None else DecodeCounter()
    name = "<stdin>" if path == STDIO else path
    with open_binary_input(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if progress is not None and lineno % 1024 == 0:
                progress(fh.tell())
            line = _decode(raw, counter)
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]  # a byte-order mark (Windows editors write one) is not text
            if line.endswith("\n"):
                line = line[:-1]
                if line.endswith("\r"):
                    line = line[:-1]
            if fmt == "text":
                yield Record(line, lineno)
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{name}: line {lineno}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise InputError(f"{name}: line {lineno}: JSON line has no string 'text' field")
            if "\\u" in line:  # only an escape can give a lone surrogate, which no UTF-8 file holds
                try:
                    json.dumps(obj, ensure_ascii=False).encode("utf-8")
                except UnicodeEncodeError as err:
                    raise InputError(f"{name}: line {lineno}: JSON line holds an escaped lone surrogate "
                                     f"({err.object[err.start]!r}), which is not Unicode text") from None
            yield Record(obj["text"], lineno, obj)


def format_record(record: Record, fmt: str) -> str:
    """The output line for ``record`` (without the newline)."""
    if fmt == "jsonl":
        obj = dict(record.fields or {})
        obj["text"] = record.text
        return json.dumps(obj, ensure_ascii=False)
    return record.text


def line_blocks(path: str | os.PathLike[str], size: int) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, block) of the file at ``path``: blocks of about ``size`` bytes
    of whole lines, each ending in a newline (one is added to a last line that lacks it), for
    work done a block at a time rather than a line at a time."""
    lineno = 1
    rest = b""
    with open(path, "rb") as fh:
        while data := fh.read(size):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield lineno, data[:cut]
                lineno += data.count(b"\n", 0, cut)
    if rest:
        yield lineno, rest + b"\n"


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an output path that cannot become a file: a directory, or one
    below a file. A side output (rejects, stats) written after the main one would otherwise fail
    with the main output already in place, looking complete."""
    if str(path) == STDIO:
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give an output file name")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{target}: {parent} is a file, not a directory")
            break


@contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """A file that appears at ``path`` only if the block finishes without an exception.

    ``-`` writes to stdout instead (streaming to a pipe cannot be atomic, and need not be).
    """
    if str(path) == STDIO:
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        sys.stdout.flush()
        return
    with atomic_outputs([path], mode) as (fh,):
        yield fh


@contextmanager
def atomic_outputs(paths: Iterable[str | os.PathLike[str]], mode: str = "w") -> Iterator[list[IO[Any]]]:
    """Files that appear at ``paths`` together, only if the block finishes without an exception.

    Why together: the chunks of one extraction are one result; a directory holding some of them
    would look like a whole dump cut in fewer pieces. Every file is written and synced under its
    temporary name first, then all are renamed with SIGINT and SIGTERM held back, so a Ctrl-C or
    a scheduler's stop in the middle of the renames takes effect after the last one. (A SIGKILL
    there can still leave some renamed: nothing can hold it back.)
    """
    staged: list[_Staged] = []
    writing: list[Path] = []  # the outputs a write error may belong to
    try:
        for path in paths:
            staged.append(_Staged(Path(path), mode))
        writing = [s.target for s in staged]
        yield [s.file for s in staged]
        for s in staged:
            writing = [s.target]
            s.finish()
        writing = []
        with stops_held():
            for s in staged:
                os.replace(s.tmp, s.target)
                s.renamed()
    except BaseException as exc:
        for s in staged:
            s.discard()
        named = output_error(exc, writing)
        if named is not None:
            raise named from None
        raise


#: Errors of writing that say nothing about the input: the disk or a quota is full, the file
#: grew past a limit. Python reports them without a file name.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class OutputError(OSError):
    """Writing an output failed (a full disk): the message names the output, not a byte of the
    input, because that is what the user has to make room for."""

    def __str__(self) -> str:
        what = self.strerror or "write error"
        return f"{self.filename}: {what[:1].lower()}{what[1:]}"


def output_error(exc: BaseException, outputs: list[Path]) -> OutputError | None:
    """``exc`` as an :class:`OutputError` naming ``outputs`` (one file, or their directory),
    when it is a write error that names no file; else None (it says enough already)."""
    if (not isinstance(exc, OSError) or isinstance(exc, OutputError) or exc.filename is not None
            or exc.errno not in _WRITE_ERRNOS or not outputs):
        return None
    if len(outputs) == 1:
        name = str(outputs[0])
    else:
        parents = {str(p.parent) for p in outputs}
        name = parents.pop() if len(parents) == 1 else ", ".join(map(str, outputs))
    return OutputError(exc.errno, exc.strerror, name)


class _Staged:
    """One output written under a temporary name beside its target (same file system, so the
    rename into place is atomic).

    The temporary file is locked (``flock``) until it is renamed or removed: a run killed with
    SIGKILL leaves it behind, and the next run of the same output removes it
    (:func:`remove_stale_temporaries`) only when no running process holds that lock."""

    def __init__(self, target: Path, mode: str):
        check_output_path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        self.target = target
        fd, self.tmp = locked_temporary(
            lambda: tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
        self.lock = -1
        try:
            self.lock = os.dup(fd)  # holds the lock after the file is closed, until the rename
            self.file: IO[Any] = os.fdopen(fd, mode, **kwargs)
        except BaseException:
            os.close(fd)
            self._unlock()
            os.unlink(self.tmp)
            raise

    def finish(self) -> None:
        """Everything written reaches the disk before the file can appear under its name."""
        with self.file as fh:
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; outputs get the usual mode

    def _unlock(self) -> None:
        if self.lock >= 0:
            os.close(self.lock)
            self.lock = -1

    def renamed(self) -> None:
        self._unlock()

    def discard(self) -> None:
        """Remove the temporary file whatever closing it raises: on a full disk the close
        flushes what is still buffered, fails again, and the file must not stay behind."""
        try:
            self.file.close()
        except OSError:
            pass
        finally:
            try:
                os.unlink(self.tmp)
            except FileNotFoundError:  # renamed already, or never there
                pass
            self._unlock()


def try_lock(fd: int) -> None:
    """Lock ``fd`` (``flock``) so that no later run takes its file for one a killed run left.
    A file system without locks (some network mounts) only loses that clean-up: a temporary
    that cannot be locked is never removed by another run, so writing goes on without it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass


def locked_temporary(make: Callable[[], tuple[int, str]]) -> tuple[int, str]:
    """``make()`` (an open descriptor and its new temporary's path), locked. Another run's
    clean-up may take the new name for a stale one in the moment before the lock: then the
    path no longer leads to the descriptor, and a new temporary is made."""
    while True:
        fd, path = make()
        try_lock(fd)
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                return fd, path
        except FileNotFoundError:
            pass
        os.close(fd)


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    # mkstemp's names: the prefix, 8 characters of [a-z0-9_], the suffix
    return re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp")


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``target`` that killed runs left beside it: named as
    :class:`_Staged` names them for this target (no other file's) and locked by no running
    process. Returns what was removed."""
    target = Path(target)
    pattern = _temporary_pattern(target)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(target.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(fd), os.stat(entry.path, follow_symlinks=False)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # locked (a run is writing it), or gone meanwhile
            pass
        finally:
            os.close(fd)
    return removed


@contextmanager
def stops_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block take effect when it ends.

    A stop is noted by a handler of this block's own and delivered again to the handler that was
    there before (Ctrl-C's KeyboardInterrupt, `prep`'s SystemExit on SIGTERM) once the block is
    done. Python lets only the main thread set handlers; elsewhere the block is not protected.
    """
    stops = (signal.SIGINT, signal.SIGTERM)
    if (threading.current_thread() is not threading.main_thread()
            or any(signal.getsignal(sig) is None for sig in stops)):  # None: set outside Python
        yield
        return
    noted: list[int] = []
    before = {sig: signal.signal(sig, lambda signum, frame: noted.append(signum))
              for sig in stops}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(noted):
            signal.raise_signal(sig)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc/self/status).

    Setting it to read it back would leave it 0 for a moment, and inside Snakemake's process
    (the workflow's `run:` steps) a job started in that moment would create world-writable files.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    with atomic_output(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")


def tsv_field(text: str) -> str:
    """A rejects-file field: tabs and line ends escaped, so every reject stays one row."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_ESCAPED = re.compile(r"\\([\\tnr])")
_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def tsv_unfield(field: str) -> str:
    """The text :func:`tsv_field` escaped, undone in one pass from the left, so that an escaped
    backslash before a ``t`` stays a backslash and a ``t`` (replacing ``\\t`` first would
    turn it into a tab)."""
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1)], field)


#: First line of the rejects files of pack and shard: tab-separated columns.
REJECTS_HEADER = "source\tline\treason\n"
#: First line of the text stages' rejects files: the document named by its line in the input
#: (empty for a dump, which has pages rather than lines) and by its page ``id`` and ``title``
#: (empty where the input has none, as plain text).
DOCUMENT_REJECTS_HEADER = "source\tline\tid\ttitle\treason\n"


@dataclass
class RejectLog:
    """Records rejected documents (source, line, page id and title, reason) so that dropping
    never loses track. ``lines=False``: the documents come from a dump, whose record numbers
    are page ids, not lines; the line column stays empty."""

    path: str | None
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    lines: bool = True

    def __post_init__(self) -> None:
        if self.path is not None:
            check_output_path(self.path)

    def add(self, source: str, lineno: int, reason: str, page_id: object = "", title: str = "") -> None:
        self.rows.append((source, str(lineno) if self.lines else "",
                          "" if page_id is None else str(page_id), title or "", reason))

    def write(self) -> None:
        if self.path is None:
            return
        with atomic_output(self.path) as fh:
            fh.write(DOCUMENT_REJECTS_HEADER)
            for row in self.rows:
                fh.write("\t".join(map(tsv_field, row)) + "\n")


def merge_rejects(paths: list[str | Path], output: str | Path,
                  header: str = DOCUMENT_REJECTS_HEADER) -> int:
    """One rejects file from several (the chunks' own, in the order given): one header, then
    every row. Returns the number of rows. A file that is not a rejects file is named."""
    rows = 0
    with atomic_output(output, "wb") as out:
        out.write(header.encode())
        for path in paths:
            with open(path, "rb") as fh:
                if fh.readline() != header.encode():
                    raise InputError(f"{path}: line 1: not a rejects file (its header is not "
                                     f"{header.strip()!r})")
                for line in fh:
                    out.write(line if line.endswith(b"\n") else line + b"\n")
                    rows += 1
    return rows
