"""Names and guarantees shared by `prep pack`, `prep shard` and `prep verify`.

The output of a command is a directory that appears whole or not at all: it is written under a
hidden temporary name beside the target and renamed into place when complete, so an interrupted
run leaves nothing that looks finished and a reader never sees half a dataset.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..textio import current_umask

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX = "index.db"
REJECTS = "rejects.tsv"
FILE_LIST = "file_list.txt"


def shard_name(rank: int, nranks: int) -> str:
    """``rank-00003-of-00008.b64``: the name says which rank and how many there are."""
    return f"rank-{rank:05d}-of-{nranks:05d}.b64"


def part_name(index: int) -> str:
    return f"part-{index:05d}.b64"


def is_nonempty(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists() or path.is_symlink()


def check_output_dir(out: Path, overwrite: bool, marker: str) -> None:
    """Refuse to replace a non-empty ``out`` unless asked to, and even then only if it provably
    holds an earlier output of ours (see :func:`earlier_output_problem`), so that a mistyped
    ``--out ~ --overwrite``, or a project that happens to have a ``manifest.json``, is never
    wiped."""
    if not is_nonempty(out):
        return
    if not overwrite:
        raise ValueError(f"{out}: output directory exists and is not empty; pass --overwrite to replace it")
    problem = earlier_output_problem(out, marker)
    if problem is not None:
        raise ValueError(f"{out}: {problem}, so it is not an earlier output; "
                         "refusing to replace it even with --overwrite")


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "a symbolic link"
    return "a directory" if path.is_dir() else "a file" if path.is_file() else "a special file"


def _strays(out: Path, named: set[str]) -> str | None:
    """What in ``out`` is not one of the regular files ``named``: the first few, by name."""
    strays = []
    for entry in sorted(out.iterdir()):
        if entry.name in named and entry.is_file() and not entry.is_symlink():
            continue
        strays.append(f"{entry.name} ({_kind(entry)})")
    if not strays:
        return None
    shown = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3 else "")
    return f"holds {shown}, which no earlier output has"


def earlier_output_problem(out: Path, marker: str) -> str | None:
    """Why ``out`` is not provably an earlier output of ours, or None when it is.

    A `prep shard` output (``marker`` is the manifest): a manifest of our format (its
    ``format_version`` and fields), and nothing else in the directory but the rank files it
    names, ``index.db`` and ``rejects.tsv``. A `prep pack` output (``marker`` is the file list):
    a file list naming only part files, and nothing else but those parts and ``rejects.tsv``
    (shards written inside it are refused too: a training job may be reading them).
    """
    if out.is_symlink() or not out.is_dir():
        return f"is {_kind(out)}, not a directory"
    if not (out / marker).is_file():
        return f"exists, is not empty and holds no {marker}"
    if marker == MANIFEST:
        return _shard_output_problem(out)
    if marker == FILE_LIST:
        return _pack_output_problem(out)
    return None


def _shard_output_problem(out: Path) -> str | None:
    import json

    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        nranks = manifest["nranks"]
        files = {r["file"] for r in manifest["ranks"]}
        version = manifest.get("format_version")
        fits = (isinstance(version, int) and 1 <= version <= FORMAT_VERSION
                and all(k in manifest for k in ("n", "seed", "per_rank_lines", "padding", "sources"))
                and isinstance(nranks, int) and files == {shard_name(r, nranks) for r in range(nranks)})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        fits = False
    if not fits:
        return f"its {MANIFEST} is not a `prep shard` manifest (format_version {FORMAT_VERSION})"
    return _strays(out, files | {MANIFEST, INDEX, REJECTS})


_PART = re.compile(r"part-[0-9]{5,}\.b64")


def _pack_output_problem(out: Path) -> str | None:
    try:
        parts = (out / FILE_LIST).read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        parts = ["?"]
    if not all(_PART.fullmatch(p) for p in parts):
        return f"its {FILE_LIST} names other files than `prep pack`'s part-NNNNN.b64"
    return _strays(out, set(parts) | {FILE_LIST, REJECTS})


def _default_permissions(tmp: Path) -> None:
    """mkdtemp/mkstemp create private (0700/0600) entries; the finished output gets the modes a
    plain ``mkdir``/``open`` would have given it, so other users (a training job) can read it."""
    mask = current_umask()
    os.chmod(tmp, 0o777 & ~mask)
    for entry in tmp.iterdir():
        if entry.is_file() and not entry.is_symlink():
            os.chmod(entry, 0o666 & ~mask)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange(a: Path, b: Path) -> bool:
    """Swap the entries ``a`` and ``b`` in one step (Linux's ``renameat2(RENAME_EXCHANGE)``), so
    that ``b`` is never missing; False where the kernel, the C library or the file system cannot
    (then nothing has changed)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # not glibc ≥ 2.28, or not Linux
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_cwd = -100  # AT_FDCWD
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):  # EPERM: some seccomp filters
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def _replace(tmp: Path, out: Path) -> None:
    """Put ``tmp`` at ``out``. An earlier ``out`` is swapped out in one step where the system can
    (a reader of ``out`` sees the old or the new one, never neither); elsewhere it is moved aside
    first, and put back if the new one cannot be moved in."""
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        out.rmdir()
    if not (out.exists() or out.is_symlink()):
        os.replace(tmp, out)
        return
    if exchange(tmp, out):
        if tmp.is_dir() and not tmp.is_symlink():  # tmp now names the old output
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink()
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / out.name)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old / out.name, out)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_directory(out: Path, overwrite: bool, marker: str) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``out`` when the block completes.

    On any exception (Ctrl-C included) the temporary directory is removed and ``out`` is left as
    it was. An existing ``out`` is swapped for the new one in one step (see :func:`_replace`) and
    deleted only after the new one is in place. The temporary directory is locked (``flock``)
    while it is written, so that a later run can tell one left by a killed run (SIGKILL leaves
    it behind, as large as the output) from one in use, and remove it (:func:`remove_stale`).
    A write that fails for want of space names ``out``.
    """
    from ..textio import locked_temporary, output_error

    out = Path(out)
    check_output_dir(out, overwrite, marker)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    def make() -> tuple[int, str]:
        path = tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent)
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY), path

    lock, name = locked_temporary(make)
    tmp = Path(name)
    try:
        yield tmp
        _default_permissions(tmp)
        fsync_dir(tmp)
        check_output_dir(out, overwrite, marker)  # again: something may have appeared meanwhile
        _replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        named = output_error(exc, [out])
        if named is not None:
            raise named from None
        raise
    finally:
        os.close(lock)


def _stale_pattern(out: Path) -> re.Pattern[str]:
    # mkdtemp's names: the prefix and 8 characters of [a-z0-9_]
    return re.compile(re.escape(f".{out.name}.tmp-") + r"[a-z0-9_]{8}")


def remove_stale(out: Path) -> list[Path]:
    """Remove the temporary directories of ``out`` that killed runs left beside it: those named
    as :func:`atomic_directory` names them for ``out`` (no other output's) that no running
    process holds locked. Returns what was removed."""
    pattern = _stale_pattern(out)
    removed = []
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # locked: a run is writing it
            os.close(fd)
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        finally:
            os.close(fd)
    return removed


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it (both resolved)."""
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def entry_problem(entry: str) -> str | None:
    """Why a name found in a list file may not be used, or None: absolute names and names that
    climb out of their root with ``..`` would let a list file reach anywhere."""
    if os.path.isabs(entry):
        return "is an absolute path; entries must be relative"
    norm = os.path.normpath(entry)
    if norm in (".", "..") or norm.startswith(".." + os.sep):
        return "escapes its directory; entries must stay inside it"
    return None


def relative_entry(entry: str, root: Path, what: str, where: str) -> Path:
    """``root / entry`` for a name found in a list file, or a ValueError naming ``where``."""
    problem = entry_problem(entry)
    if problem is not None:
        raise ValueError(f"{where}: {what} {entry!r} {problem.replace('its directory', str(root))}")
    return root / os.path.normpath(entry)
