"""`prep pack`: an ``images/`` folder and its ``label.txt`` → base64 part files + ``file_list.txt``.

This is the common layout of image classification datasets (``relative/path label`` per line)
turned into the one `prep shard` reads: part files of ``base64(image bytes)<TAB>label`` lines.
Every image is decoded once with Pillow on the way, so a file that is unreadable or not an image
is caught here, listed in ``rejects.tsv`` with the reason, and never reaches training.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..progress import Meter, Work
from ..textio import REJECTS_HEADER, tsv_field
from ..wording import counted, size
from .layout import FILE_LIST, REJECTS, atomic_directory, entry_problem, inside, part_name
from .validate import image_problem

_LABEL_MAX = 10**18  # what fits SQLite's INTEGER in the shard index


@dataclass
class PackResult:
    """What ``pack_images`` wrote."""

    out_dir: Path
    images: int  # lines written
    rejected: int
    parts: list[str]  # part file names, as in file_list.txt
    file_list: Path
    rejects: Path  # rejects.tsv: source (image path or labels file), line in the labels file, reason
    bytes: int = 0  # bytes of the part files
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.rejected_by_reason.items()))
        return (
            f"pack: {counted(self.images, 'image')} in {counted(len(self.parts), 'part file')} ({size(self.bytes)}),"
            f" {self.rejected} rejected" + (f" ({reasons}; see {self.rejects})" if self.rejected else "")
            + f" -> {self.out_dir}"
        )


def _parse_label_line(text: str) -> tuple[str, int] | str:
    """``relative/path label`` → (path, label), or the reason the line is bad. The label is
    the last whitespace-separated field, so paths may contain spaces."""
    parts = text.rsplit(None, 1)
    if len(parts) != 2:
        return "bad labels line: expected 'relative/path label'"
    path, label = parts
    try:
        value = int(label, 10)
    except ValueError:
        return f"bad labels line: label {label!r} is not an integer"
    if not -_LABEL_MAX < value < _LABEL_MAX or not label.lstrip("+-").isdigit():
        return f"bad labels line: label {label!r} is not an integer"
    return path, value


def _count_lines(path: Path) -> int:
    """Lines of a file, the last one without its newline too (for the progress bar's total)."""
    count, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def pack_images(
    images_dir: str | os.PathLike[str],
    labels_file: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    part_lines: int = 1000,
    overwrite: bool = False,
    progress: Work | None = None,
) -> PackResult:
    """Write ``out_dir/part-00000.b64 …`` (``part_lines`` lines each) and ``file_list.txt``.

    Images are packed in the order of ``labels_file``; blank lines there are skipped. Rejected
    entries (bad labels line, path outside ``images_dir``, missing, unreadable or not an image)
    go to ``out_dir/rejects.tsv``. The directory appears complete or not at all.
    ``progress(done, total)`` hears of the entries of ``labels_file`` handled so far.
    """
    if isinstance(part_lines, bool) or not isinstance(part_lines, int) or part_lines < 1:
        raise ValueError(f"part_lines must be an integer >= 1, got {part_lines!r}")
    images_dir, labels_file, out_dir = Path(images_dir), Path(labels_file), Path(out_dir)
    if not images_dir.is_dir():
        raise ValueError(f"{images_dir}: images directory not found")
    if not labels_file.is_file():
        raise ValueError(f"{labels_file}: labels file not found")

    for path, what in ((images_dir, "the images directory"), (labels_file, "the labels file")):
        if inside(path, out_dir):
            raise ValueError(f"{out_dir}: output directory would contain {what} ({path}); choose another --out")

    real_root = images_dir.resolve()
    meter = Meter(progress, _count_lines(labels_file) if progress else 0, step=16)
    reasons: Counter[str] = Counter()
    parts: list[str] = []
    written = 0
    total_bytes = 0
    with atomic_directory(out_dir, overwrite, FILE_LIST) as tmp:
        part = None
        with open(tmp / REJECTS, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as rejects, \
                open(labels_file, encoding="utf-8", errors="surrogateescape") as labels:
            rejects.write(REJECTS_HEADER)

            def reject(source: str, lineno: int, category: str, reason: str) -> None:
                reasons[category] += 1
                rejects.write(f"{tsv_field(source)}\t{lineno}\t{tsv_field(reason)}\n")

            try:
                for lineno, text in enumerate(labels, start=1):
                    meter.add(1)
                    if not text.strip():
                        continue
                    parsed = _parse_label_line(text.strip())
                    if isinstance(parsed, str):
                        reject(str(labels_file), lineno, "labels", parsed)
                        continue
                    rel, label = parsed
                    bad_path = entry_problem(rel)
                    if bad_path is not None:
                        reject(rel, lineno, "path", f"path {bad_path.replace('its directory', str(images_dir))}")
                        continue
                    path = images_dir / os.path.normpath(rel)
                    if not inside(path, real_root):  # a symbolic link on the way leads out
                        reject(rel, lineno, "path", f"path leads outside {images_dir} through a "
                               "symbolic link; images must stay inside it")
                        continue
                    try:
                        data = path.read_bytes()
                    except FileNotFoundError:
                        reject(rel, lineno, "missing", f"no such file in {images_dir}")
                        continue
                    except OSError as e:
                        reject(rel, lineno, "unreadable", f"unreadable: {e.strerror or e}")
                        continue
                    problem = image_problem(data)
                    if problem is not None:
                        reject(rel, lineno, "image", problem)
                        continue
                    if part is None or written % part_lines == 0:
                        if part is not None:
                            part.close()
                        parts.append(part_name(len(parts)))
                        part = open(tmp / parts[-1], "wb", buffering=1 << 20)
                    line = base64.b64encode(data) + b"\t" + str(label).encode() + b"\n"
                    part.write(line)
                    total_bytes += len(line)
                    written += 1
            finally:
                if part is not None:
                    part.close()
        if written == 0:
            raise ValueError(
                f"{labels_file}: no image could be packed"
                + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else " (no entries)")
            )
        for name in parts:
            fd = os.open(tmp / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        with open(tmp / FILE_LIST, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("".join(f"{name}\n" for name in parts))
            fh.flush()
            os.fsync(fh.fileno())

    return PackResult(
        out_dir=out_dir, images=written, rejected=sum(reasons.values()), parts=parts,
        file_list=out_dir / FILE_LIST, rejects=out_dir / REJECTS, bytes=total_bytes,
        rejected_by_reason=dict(sorted(reasons.items())),
    )
