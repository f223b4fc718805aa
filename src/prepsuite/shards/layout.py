"""Names and guarantees shared by `prep pack`, `prep shard` and `prep verify`.

The output of a command is a directory that appears whole or not at all: it is written under a
hidden temporary name beside the target and renamed into place when complete, so an interrupted
run leaves nothing that looks finished and a reader never sees half a dataset.
"""

from __future__ import annotations

import errno
import os
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
    """Refuse to replace a non-empty ``out`` unless asked to, and even then only if it holds an
    earlier output of ours (``marker`` exists), so that a mistyped ``--out ~ --overwrite``
    cannot wipe a home directory."""
    if not is_nonempty(out):
        return
    if not overwrite:
        raise ValueError(f"{out}: output directory exists and is not empty; pass --overwrite to replace it")
    if not (out / marker).is_file():
        raise ValueError(
            f"{out}: exists, is not empty and holds no {marker}, so it is not an earlier output; "
            "refusing to replace it even with --overwrite"
        )


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
    deleted only after the new one is in place.
    """
    out = Path(out)
    check_output_dir(out, overwrite, marker)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        _default_permissions(tmp)
        fsync_dir(tmp)
        check_output_dir(out, overwrite, marker)  # again: something may have appeared meanwhile
        _replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
