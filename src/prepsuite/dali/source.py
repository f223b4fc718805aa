"""Reading one rank's shard sample by sample, for DALI's parallel external source.

DALI has no reader for base64 text lines, so this module is the reader. It never loads a shard
whole: ``index.db`` gives every line's byte offset and length, and a worker reads one line with
``os.pread``. The callable handed to DALI, :class:`ShardSource`, is stateless in DALI's sense:
the sample it returns depends only on the :class:`~nvidia.dali.types.SampleInfo` it is asked for,
so any number of worker processes can serve one batch, in any order, and produce the same batch.

Everything random is drawn here from explicit generators, never from DALI's or the global RNG:

* the order of an epoch is a permutation from ``numpy.random.default_rng((seed, epoch))``;
* the augmentation parameters of a sample (crop area, aspect ratio, crop position, flip) come from
  ``default_rng((seed, epoch, rank, position, 1))``.

So an epoch's batches, crops and flips are the same on every run, whatever the number of workers,
threads or prefetch depth, and a loader resumed mid-epoch produces exactly the batches the
interrupted one would have produced. Nothing here imports DALI or torch.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..textio import InputError

MANIFEST = "manifest.json"
INDEX = "index.db"
FORMAT_VERSION = 1

# Leading bytes of the formats the DALI decoder reads; anything else is rejected in the source,
# where the shard line is known, instead of failing later inside the decoder, where it is not.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
)
_PNM = (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6")

# Number of uniform random numbers per sample handed to the augmentation (see pipeline.py):
# area fraction, log aspect ratio, crop x, crop y, flip.
N_AUG = 5


def image_format(data: bytes) -> str | None:
    """The image format named by the leading bytes, or None when DALI could not decode it."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] in _PNM and data[2:3] in (b" ", b"\n", b"\r", b"\t"):
        return "PNM"
    return None


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """Positions of a rank's shard in the order epoch ``epoch`` visits them.

    The same (seed, epoch) gives the same permutation on every run and every rank; different
    epochs give different ones, which is what ``ShardLoader.set_epoch`` relies on.
    """
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    return np.random.default_rng((seed, epoch)).permutation(n)


def augmentation_numbers(seed: int, epoch: int, rank: int, position: int) -> np.ndarray:
    """The uniform numbers in [0, 1) that fix the crop and flip of one sample in one epoch."""
    rng = np.random.default_rng((seed, epoch, rank, position, 1))
    return rng.random(N_AUG, dtype=np.float32)


def crop_window(
    height: float,
    width: float,
    numbers: np.ndarray,
    area: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[float, float, float, float, bool]:
    """(y0, x0, y1, x1, flip) of the random resized crop that ``numbers`` pick in an image.

    The reference for what the DALI pipeline computes with its arithmetic operators (see
    ``pipeline._random_crop_window``), used by the benchmark's Pillow baseline and the tests.
    The aspect ratio (width/height) is log-uniform in ``ratio``, the area a uniform fraction of
    the image in ``area``, shrunk just enough to fit when the ratio would not.
    """
    frac = area[0] + (area[1] - area[0]) * float(numbers[0])
    log_lo, log_hi = np.log(ratio[0]), np.log(ratio[1])
    r = float(np.exp(log_lo + (log_hi - log_lo) * float(numbers[1])))
    crop_area = min(frac * height * width, width * width / r, height * height * r)
    # min(): rounding must not push the window a hair outside the image.
    cw, ch = min((crop_area * r) ** 0.5, width), min((crop_area / r) ** 0.5, height)
    x0 = float(numbers[2]) * (width - cw)
    y0 = float(numbers[3]) * (height - ch)
    return y0, x0, y0 + ch, x0 + cw, bool(numbers[4] < 0.5)


@dataclass(frozen=True)
class RankShard:
    """Where each line of one rank's shard lives, read from ``manifest.json`` and ``index.db``.

    Holds three small integer arrays (offset, length, label per line), never the shard itself.
    """

    shard_dir: Path
    path: Path
    rank: int
    nranks: int
    offsets: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    padding: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    @property
    def name(self) -> str:
        return str(self.path)

    def read_line(self, fd: int, position: int) -> bytes:
        """The bytes of line ``position`` (0-based) without its newline, checked against the index."""
        offset = int(self.offsets[position])
        length = int(self.lengths[position])
        raw = os.pread(fd, length + 1, offset)
        if len(raw) != length + 1 or raw[-1:] != b"\n":
            raise InputError(
                f"{self.path}: line {position + 1} (byte {offset}): the shard does not match "
                f"{INDEX} (expected {length} bytes and a newline there); was the shard rewritten "
                "without its index?"
            )
        return raw[:-1]

    def decode_line(self, raw: bytes, position: int) -> tuple[bytes, int]:
        """Encoded image bytes and label of one line; a bad line is an InputError naming it."""
        where = f"{self.path}: line {position + 1} (byte {int(self.offsets[position])})"
        tab = raw.rfind(b"\t")
        if tab < 0:
            raise InputError(f"{where}: no TAB between the base64 image and the label")
        try:
            label = int(raw[tab + 1 :])
        except ValueError:
            raise InputError(f"{where}: label {raw[tab + 1:tab + 41]!r} is not an integer") from None
        if label != int(self.labels[position]):
            raise InputError(f"{where}: label {label} differs from {INDEX} ({int(self.labels[position])})")
        try:
            data = base64.b64decode(raw[:tab], validate=True)
        except (binascii.Error, ValueError) as e:
            raise InputError(f"{where}: invalid base64 ({e})") from None
        if image_format(data) is None:
            raise InputError(
                f"{where}: not an image DALI can decode (starts with {data[:8].hex(' ')}; "
                "expected JPEG, PNG, BMP, TIFF, JPEG 2000, WebP or PNM)"
            )
        return data, label

    def sample(self, fd: int, position: int) -> tuple[bytes, int]:
        return self.decode_line(self.read_line(fd, position), position)


def _read_manifest(shard_dir: Path) -> dict:
    path = shard_dir / MANIFEST
    if not path.is_file():
        raise InputError(f"{shard_dir}: no {MANIFEST}; is this a directory written by `prep shard`?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    for key in ("nranks", "per_rank_lines", "ranks"):
        if key not in manifest:
            raise InputError(f"{path}: no {key!r} field")
    version = manifest.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InputError(f"{path}: format_version {version}; this loader reads version {FORMAT_VERSION}")
    return manifest


def open_rank_shard(shard_dir: str | os.PathLike[str], rank: int, nranks: int) -> RankShard:
    """Check a shard directory against (rank, nranks) and load the line index of ``rank``.

    Refuses a directory written for another number of ranks: its shards would not have equal
    lengths for this job, and every rank would read the wrong share of the data.
    """
    shard_dir = Path(shard_dir)
    if nranks < 1:
        raise ValueError(f"nranks must be >= 1, got {nranks}")
    if not 0 <= rank < nranks:
        raise ValueError(f"rank must be in 0..{nranks - 1}, got {rank}")
    if not shard_dir.is_dir():
        raise FileNotFoundError(f"{shard_dir}: no such shard directory")
    manifest = _read_manifest(shard_dir)
    if int(manifest["nranks"]) != nranks:
        raise ValueError(
            f"{shard_dir} was written for nranks={manifest['nranks']}, but this job has "
            f"nranks={nranks}; run `prep shard --nranks {nranks}` for it"
        )
    per_rank = int(manifest["per_rank_lines"])
    entries = {int(r["rank"]): r for r in manifest["ranks"]}
    if sorted(entries) != list(range(nranks)):
        raise InputError(f"{shard_dir / MANIFEST}: ranks listed are {sorted(entries)}, expected 0..{nranks - 1}")
    for r, entry in entries.items():
        if int(entry["lines"]) != per_rank:
            raise InputError(
                f"{shard_dir / MANIFEST}: rank {r} has {entry['lines']} lines, not per_rank_lines="
                f"{per_rank}; ranks would run different numbers of steps"
            )
    entry = entries[rank]
    path = shard_dir / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shard of rank {rank} is missing")
    size = path.stat().st_size
    if "bytes" in entry and size != int(entry["bytes"]):
        raise InputError(f"{path}: {size} bytes, but {MANIFEST} says {entry['bytes']}; the shard is incomplete or was changed")
    index = shard_dir / INDEX
    if not index.is_file():
        raise FileNotFoundError(f"{index}: no line index; the loader reads lines by offset from it")
    try:
        con = sqlite3.connect(index.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(f"{index}: cannot open the line index ({e})") from None
    try:
        rows = con.execute(
            "SELECT position, shard_offset, length, label, is_padding FROM lines "
            "WHERE rank = ? ORDER BY position",
            (rank,),
        ).fetchall()
    except sqlite3.Error as e:
        raise InputError(f"{index}: cannot read table 'lines' ({e})") from None
    finally:
        con.close()
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    if table.shape[0] != per_rank or not np.array_equal(table[:, 0], np.arange(per_rank)):
        raise InputError(
            f"{index}: rank {rank} has {table.shape[0]} rows (positions must be 0..{per_rank - 1}); "
            f"{MANIFEST} says {per_rank} lines"
        )
    ends = table[:, 1] + table[:, 2] + 1
    if table.shape[0] and (ends.max() > size or table[:, 1].min() < 0):
        bad = int(np.argmax((ends > size) | (table[:, 1] < 0)))
        raise InputError(f"{index}: rank {rank} position {bad} points past the end of {path} ({size} bytes)")
    return RankShard(
        shard_dir=shard_dir,
        path=path,
        rank=rank,
        nranks=nranks,
        offsets=np.ascontiguousarray(table[:, 1]),
        lengths=np.ascontiguousarray(table[:, 2]),
        labels=np.ascontiguousarray(table[:, 3]),
        padding=np.ascontiguousarray(table[:, 4].astype(bool)),
    )


class ShardSource:
    """The sample-mode callback of DALI's parallel ``external_source`` over one rank's shard.

    Serves epoch ``first_epoch + info.epoch_idx``; in the first epoch it starts ``start_sample``
    samples in (that is how a resumed loader continues at the exact next batch). An epoch is
    ``epoch_samples`` long, a multiple of the batch size: when the shard's line count is not,
    the last batch is completed with the epoch's first samples and the loader cuts them off.
    Returns (encoded image, label, position) per sample, plus the augmentation numbers when
    ``augment`` is set (training mode).

    Picklable (the file descriptor is opened lazily in each worker), so it works with the
    ``spawn`` start method that a process holding a CUDA context needs.
    """

    def __init__(
        self,
        shard: RankShard,
        *,
        seed: int,
        first_epoch: int,
        start_sample: int,
        epoch_samples: int,
        augment: bool = True,
    ) -> None:
        if start_sample < 0 or start_sample > epoch_samples:
            raise ValueError(f"start_sample must be in 0..{epoch_samples}, got {start_sample}")
        self.shard = shard
        self.seed = seed
        self.first_epoch = first_epoch
        self.start_sample = start_sample
        self.epoch_samples = epoch_samples
        self.augment = augment
        self._fd: int | None = None
        self._order: tuple[int, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fd"] = None
        state["_order"] = None
        return state

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)  # type: ignore[arg-type]
            except OSError:
                pass

    def epoch_and_index(self, epoch_idx: int, idx_in_epoch: int) -> tuple[int, int]:
        """(user epoch, sample index within it) of DALI's (epoch_idx, idx_in_epoch)."""
        idx = idx_in_epoch + (self.start_sample if epoch_idx == 0 else 0)
        return self.first_epoch + epoch_idx, idx

    def position(self, epoch: int, idx: int) -> int:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, epoch_order(self.seed, epoch, len(self.shard)))
        return int(self._order[1][idx % len(self.shard)])

    def __call__(self, info) -> tuple[np.ndarray, ...]:
        epoch, idx = self.epoch_and_index(info.epoch_idx, info.idx_in_epoch)
        if idx >= self.epoch_samples:
            raise StopIteration
        pos = self.position(epoch, idx)
        if self._fd is None:
            self._fd = os.open(self.shard.path, os.O_RDONLY)
        data, label = self.shard.sample(self._fd, pos)
        out = (np.frombuffer(data, dtype=np.uint8), np.array(label, dtype=np.int64), np.array(pos, dtype=np.int64))
        if self.augment:
            out += (augmentation_numbers(self.seed, epoch, self.shard.rank, pos),)
        return out
