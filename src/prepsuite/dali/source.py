"""Reading samples of a shard directory by global id, for DALI's parallel external source.

DALI has no reader for base64 text lines, so this module is the reader. It never loads a shard
whole: ``index.db`` gives every line's byte offset and length, and a worker reads one line with
``os.pread``. The callable handed to DALI, :class:`ShardSource`, is stateless in DALI's sense:
the sample it returns depends only on the :class:`~nvidia.dali.types.SampleInfo` it is asked for,
so any number of worker processes can serve one batch, in any order, and produce the same batch.

Samples are named by their **global id** (see :mod:`.plan`): line ``g // N`` of shard file
``g % N``. Everything random is drawn from explicit functions of that id, never from DALI's or the
global RNG:

* the order of an epoch is a permutation from ``(seed, epoch)`` (:func:`.plan.epoch_order`);
* the augmentation numbers of a sample (10 tries of crop area and aspect ratio, crop position,
  flip) are a counter-based hash of ``(seed, epoch, global id)`` (:func:`augmentation_numbers`).

So an epoch's batches, crops and flips are the same on every run, whatever the number of ranks,
workers, threads or prefetch depth, and a loader resumed mid-epoch produces exactly the batches
the interrupted one would have produced. Nothing here imports DALI or torch.
"""

from __future__ import annotations

import binascii
import functools
import json
import math
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..textio import InputError
from .plan import EpochPlan, epoch_order

try:  # SIMD base64 (several times the standard library's speed on photo-sized lines)
    from pybase64 import b64decode as _b64decode
except ImportError:  # pragma: no cover - pybase64 is a dependency of the `dali` extra
    from base64 import b64decode as _b64decode

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

#: Tries of RandomResizedCrop before its centre-crop fallback (torchvision's and DALI's number).
CROP_TRIES = 10
#: Uniform numbers per sample: CROP_TRIES area fractions, CROP_TRIES log aspect ratios, then the
#: crop's x and y placement and the flip.
N_AUG = 2 * CROP_TRIES + 3


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


_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of 64-bit integers whose output bits look independent."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@functools.lru_cache(maxsize=64)
def _epoch_key(seed: int, epoch: int) -> np.uint64:
    """64 bits standing for (seed, epoch): any seed >= 0, however large, through SeedSequence."""
    return np.random.SeedSequence((seed, epoch, 1)).generate_state(1, np.uint64)[0]


def augmentation_numbers(seed: int, epoch: int, sample_id) -> np.ndarray:
    """The ``N_AUG`` uniform numbers in [0, 1) that fix the crop and flip of samples in an epoch.

    ``sample_id`` is a global id or an array of them (then one row per id). A counter-based hash,
    not a generator per sample: the numbers of a sample depend on (seed, epoch, id) only, and a
    whole batch of them costs one vectorised expression.
    """
    ids = np.asarray(sample_id, dtype=np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError("sample ids must be >= 0")
    counters = ids.astype(np.uint64)[..., None] * np.uint64(N_AUG) + np.arange(N_AUG, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = _mix(_mix(counters * _GOLDEN + _epoch_key(seed, epoch)))
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)).astype(np.float32)


def crop_window(
    height: int,
    width: int,
    numbers: np.ndarray,
    area: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int, bool]:
    """(y0, x0, y1, x1, flip) of the RandomResizedCrop that ``numbers`` pick in an image.

    torchvision's ``RandomResizedCrop.get_params``: up to ``CROP_TRIES`` times draw an area
    fraction (uniform in ``area``) and an aspect ratio w/h (log-uniform in ``ratio``), round the
    crop's sides and take the first that fits; else a centre crop with the ratio clamped into
    ``ratio``. The crop's corner is uniform over the integer positions where it fits. The
    reference for what the pipeline computes with DALI arithmetic (``pipeline._crop_window``), in
    the same float32 arithmetic; used by the benchmark's Pillow baseline and the tests.
    """
    u = np.asarray(numbers, dtype=np.float32)
    H, W = np.float32(height), np.float32(width)
    lo, hi = np.float32(math.log(ratio[0])), np.float32(math.log(ratio[1]))
    target = H * W * (np.float32(area[0]) + np.float32(area[1] - area[0]) * u[:CROP_TRIES])
    r = np.exp(lo + (hi - lo) * u[CROP_TRIES : 2 * CROP_TRIES])
    w = np.floor(np.sqrt(target * r) + np.float32(0.5))
    h = np.floor(np.sqrt(target / r) + np.float32(0.5))
    fits = (w <= W) & (h <= H) & (w > 0) & (h > 0)
    if fits.any():
        t = int(np.argmax(fits))
        cw, ch = w[t], h[t]
        x0 = np.floor(u[2 * CROP_TRIES] * (W - cw + 1))
        y0 = np.floor(u[2 * CROP_TRIES + 1] * (H - ch + 1))
    else:  # centre crop, the image's own ratio clamped into the range
        cw = min(W, np.floor(H * np.float32(ratio[1]) + np.float32(0.5)))
        ch = min(H, np.floor(W / np.float32(ratio[0]) + np.float32(0.5)))
        x0, y0 = np.floor((W - cw) / 2), np.floor((H - ch) / 2)
    return int(y0), int(x0), int(y0 + ch), int(x0 + cw), bool(u[2 * CROP_TRIES + 2] < 0.5)


@dataclass(frozen=True)
class ShardSet:
    """The lines of a shard directory by global id, read from ``manifest.json`` and ``index.db``.

    Holds small integer arrays (offset, length, label per line; ``-1`` offsets for files this
    process was not asked to load), never the shards themselves.
    """

    shard_dir: Path
    n: int
    nranks: int  # N: ranks the directory was written for (= number of shard files)
    per_rank: int  # P: lines per file
    paths: tuple[Path, ...]
    offsets: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    manifest: dict = field(repr=False, compare=False, default_factory=dict)

    def where(self, gid: int) -> tuple[Path, int]:
        """(shard file, 1-based line) of global id ``gid``."""
        return self.paths[gid % self.nranks], gid // self.nranks + 1

    def name(self, gid: int) -> str:
        path, line = self.where(gid)
        return f"{path}: line {line} (byte {int(self.offsets[gid])})"

    def read_line(self, fd: int, gid: int) -> bytes:
        """The bytes of sample ``gid``'s line without its newline, checked against the index."""
        offset = int(self.offsets[gid])
        length = int(self.lengths[gid])
        if offset < 0:
            raise RuntimeError(f"{self.where(gid)[0]} was not loaded by this process")
        raw = os.pread(fd, length + 1, offset)
        if len(raw) != length + 1 or raw[-1:] != b"\n":
            raise InputError(
                f"{self.name(gid)}: the shard does not match {INDEX} (expected {length} bytes and a "
                "newline there); was the shard rewritten without its index?"
            )
        return raw[:-1]

    def decode_line(self, raw: bytes, gid: int) -> tuple[bytes, int]:
        """Encoded image bytes and label of one line; a bad line is an InputError naming it."""
        tab = raw.rfind(b"\t")
        if tab < 0:
            raise InputError(f"{self.name(gid)}: no TAB between the base64 image and the label")
        try:
            label = int(raw[tab + 1 :])
        except ValueError:
            raise InputError(f"{self.name(gid)}: label {raw[tab + 1:tab + 41]!r} is not an integer") from None
        if label != int(self.labels[gid]):
            raise InputError(f"{self.name(gid)}: label {label} differs from {INDEX} ({int(self.labels[gid])})")
        try:
            data = _b64decode(memoryview(raw)[:tab], validate=True)
        except (binascii.Error, ValueError) as e:
            raise InputError(f"{self.name(gid)}: invalid base64 ({e})") from None
        if image_format(data) is None:
            raise InputError(
                f"{self.name(gid)}: not an image DALI can decode (starts with {data[:8].hex(' ')}; "
                "expected JPEG, PNG, BMP, TIFF, JPEG 2000, WebP or PNM)"
            )
        return data, label

    def sample(self, fd: int, gid: int) -> tuple[bytes, int]:
        return self.decode_line(self.read_line(fd, gid), gid)

    def check_labels(self, num_classes: int, files: list[int]) -> None:
        """Refuse the first label outside ``0 .. num_classes - 1`` in ``files``, naming its line."""
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        grid = self.labels.reshape(self.per_rank, self.nranks)[:, files]
        bad = (grid < 0) | (grid >= num_classes)
        if bad.any():
            gids = np.flatnonzero(bad.T.reshape(-1))[0]  # first bad line of the first bad file
            f, line = divmod(int(gids), self.per_rank)
            gid = line * self.nranks + files[f]
            path, line1 = self.where(gid)
            raise InputError(
                f"{path}:{line1}: label {int(self.labels[gid])} is out of range for num_classes="
                f"{num_classes} (labels must be 0..{num_classes - 1})"
            )


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


def read_manifest(shard_dir: str | os.PathLike[str]) -> dict:
    """The checked ``manifest.json`` of a shard directory."""
    shard_dir = Path(shard_dir)
    if not shard_dir.is_dir():
        raise FileNotFoundError(f"{shard_dir}: no such shard directory")
    manifest = _read_manifest(shard_dir)
    N, per_rank = int(manifest["nranks"]), int(manifest["per_rank_lines"])
    entries = {int(r["rank"]): r for r in manifest["ranks"]}
    if sorted(entries) != list(range(N)):
        raise InputError(f"{shard_dir / MANIFEST}: ranks listed are {sorted(entries)}, expected 0..{N - 1}")
    for r, entry in entries.items():
        if int(entry["lines"]) != per_rank:
            raise InputError(
                f"{shard_dir / MANIFEST}: rank {r} has {entry['lines']} lines, not per_rank_lines="
                f"{per_rank}; ranks would run different numbers of steps"
            )
    manifest["ranks"] = [entries[r] for r in range(N)]
    manifest.setdefault("n", N * per_rank - int(manifest.get("padding", 0)))
    return manifest


def visible_files(shard_dir: str | os.PathLike[str], manifest: dict) -> list[int]:
    """Indices of the shard files present in ``shard_dir`` (all of them on a shared file system)."""
    return [r for r, e in enumerate(manifest["ranks"]) if (Path(shard_dir) / e["file"]).is_file()]


def open_shards(shard_dir: str | os.PathLike[str], files: list[int] | None = None, manifest: dict | None = None) -> ShardSet:
    """Load the line index of ``files`` (default: all) of a shard directory, checking each file.

    A file that is missing or of another size than the manifest says is an error, as is an index
    that does not describe every line of a loaded file.
    """
    shard_dir = Path(shard_dir)
    manifest = manifest if manifest is not None else read_manifest(shard_dir)
    N, P, n = int(manifest["nranks"]), int(manifest["per_rank_lines"]), int(manifest["n"])
    files = list(range(N)) if files is None else sorted(files)
    paths = tuple(shard_dir / e["file"] for e in manifest["ranks"])
    sizes = {}
    for r in files:
        path, entry = paths[r], manifest["ranks"][r]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: shard of rank {r} is missing")
        sizes[r] = path.stat().st_size
        if "bytes" in entry and sizes[r] != int(entry["bytes"]):
            raise InputError(f"{path}: {sizes[r]} bytes, but {MANIFEST} says {entry['bytes']}; the shard is incomplete or was changed")
    index = shard_dir / INDEX
    if not index.is_file():
        raise FileNotFoundError(f"{index}: no line index; the loader reads lines by offset from it")
    try:
        con = sqlite3.connect(index.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(f"{index}: cannot open the line index ({e})") from None
    try:
        query = "SELECT rank, position, shard_offset, length, label FROM lines"
        if len(files) < N:
            query += f" WHERE rank IN ({','.join('?' * len(files))})"
        rows = con.execute(query + " ORDER BY rank, position", files if len(files) < N else ()).fetchall()
    except sqlite3.Error as e:
        raise InputError(f"{index}: cannot read table 'lines' ({e})") from None
    finally:
        con.close()
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    offsets = np.full(N * P, -1, dtype=np.int64)
    lengths = np.zeros(N * P, dtype=np.int64)
    labels = np.zeros(N * P, dtype=np.int64)
    start = 0
    for r in files:
        count = int(np.searchsorted(table[:, 0], r, side="right")) - start
        part = table[start : start + count]
        start += count
        if count != P or not np.array_equal(part[:, 1], np.arange(P)):
            raise InputError(
                f"{index}: rank {r} has {count} rows (positions must be 0..{P - 1}); {MANIFEST} says {P} lines"
            )
        ends = part[:, 2] + part[:, 3] + 1
        if P and (ends.max() > sizes[r] or part[:, 2].min() < 0):
            bad = int(np.argmax((ends > sizes[r]) | (part[:, 2] < 0)))
            raise InputError(f"{index}: rank {r} position {bad} points past the end of {paths[r]} ({sizes[r]} bytes)")
        gids = np.arange(P, dtype=np.int64) * N + r
        offsets[gids], lengths[gids], labels[gids] = part[:, 2], part[:, 3], part[:, 4]
    return ShardSet(shard_dir=shard_dir, n=n, nranks=N, per_rank=P, paths=paths,
                    offsets=offsets, lengths=lengths, labels=labels, manifest=manifest)


_BLOCK = 64


class ShardSource:
    """The sample-mode callback of DALI's parallel ``external_source`` over one rank's samples.

    Serves epoch ``first_epoch + info.epoch_idx`` of ``plan``; in the first epoch it starts
    ``start_sample`` samples in (that is how a resumed loader continues at the exact next batch).
    Returns (encoded image, label, global id) per sample, plus the augmentation numbers when
    ``augment`` is set (training mode).

    Picklable (file descriptors are opened lazily in each worker), so it works with the ``spawn``
    start method that a process holding a CUDA context needs.
    """

    def __init__(
        self,
        shards: ShardSet,
        plan: EpochPlan,
        *,
        first_epoch: int,
        start_sample: int,
        augment: bool = True,
    ) -> None:
        self.epoch_samples = plan.steps * plan.batch_size
        if start_sample < 0 or start_sample > self.epoch_samples:
            raise ValueError(f"start_sample must be in 0..{self.epoch_samples}, got {start_sample}")
        self.shards = shards
        self.plan = plan
        self.seed = plan.seed
        self.first_epoch = first_epoch
        self.start_sample = start_sample
        self.augment = augment
        self._fds: dict[int, int] = {}
        self._order: tuple[int, np.ndarray] | None = None
        self._numbers: tuple[int, int, np.ndarray] | None = None  # (epoch, block, numbers)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fds"] = {}
        state["_order"] = None
        state["_numbers"] = None
        return state

    def __del__(self) -> None:
        for fd in getattr(self, "_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass

    def epoch_and_index(self, epoch_idx: int, idx_in_epoch: int) -> tuple[int, int]:
        """(user epoch, sample index within it) of DALI's (epoch_idx, idx_in_epoch)."""
        idx = idx_in_epoch + (self.start_sample if epoch_idx == 0 else 0)
        return self.first_epoch + epoch_idx, idx

    def global_id(self, epoch: int, idx: int) -> int:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.plan.rank_order(epoch))
        return int(self._order[1][idx])

    def numbers(self, epoch: int, idx: int) -> np.ndarray:
        """Augmentation numbers of this rank's sample ``idx`` in ``epoch``.

        Computed for a block of ``_BLOCK`` consecutive samples at once (a worker serves
        consecutive samples of a batch): one vectorised hash instead of one per sample.
        """
        block = idx // _BLOCK
        if self._numbers is None or self._numbers[:2] != (epoch, block):
            self.global_id(epoch, idx)  # makes sure the epoch's order is cached
            ids = self._order[1][block * _BLOCK : (block + 1) * _BLOCK]
            self._numbers = (epoch, block, augmentation_numbers(self.seed, epoch, ids))
        return self._numbers[2][idx % _BLOCK]

    def _fd(self, gid: int) -> int:
        f = gid % self.shards.nranks
        fd = self._fds.get(f)
        if fd is None:
            fd = self._fds[f] = os.open(self.shards.paths[f], os.O_RDONLY)
        return fd

    def __call__(self, info) -> tuple[np.ndarray, ...]:
        epoch, idx = self.epoch_and_index(info.epoch_idx, info.idx_in_epoch)
        if idx >= self.epoch_samples:
            raise StopIteration
        gid = self.global_id(epoch, idx)
        data, label = self.shards.sample(self._fd(gid), gid)
        out = (np.frombuffer(data, dtype=np.uint8), np.array(label, dtype=np.int64), np.array(gid, dtype=np.int64))
        if self.augment:
            out += (self.numbers(epoch, idx),)
        return out


class ShardBatchSource(ShardSource):
    """The batch-mode callback (``batch=True, batch_info=True``): one call per batch.

    One call, one task for a reader process (or none: with ``parallel=False`` DALI calls it in
    this process), instead of one per sample; the batch's augmentation numbers are one hash.
    """

    batched = True

    def __call__(self, info) -> tuple[list[np.ndarray], ...]:
        B = self.plan.batch_size
        start = info.iteration * B + (self.start_sample if info.epoch_idx == 0 else 0)
        epoch = self.first_epoch + info.epoch_idx
        if start >= self.epoch_samples:
            raise StopIteration
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.plan.rank_order(epoch))
        gids = self._order[1][start : start + B]
        images, labels = [], []
        for gid in gids.tolist():
            data, label = self.shards.sample(self._fd(gid), gid)
            images.append(np.frombuffer(data, dtype=np.uint8))
            labels.append(np.array(label, dtype=np.int64))
        out = (images, labels, [np.array(g, dtype=np.int64) for g in gids.tolist()])
        if self.augment:
            out += (list(augmentation_numbers(self.seed, epoch, gids)),)
        return out


__all__ = [
    "CROP_TRIES",
    "N_AUG",
    "ShardSet",
    "ShardSource",
    "augmentation_numbers",
    "crop_window",
    "epoch_order",
    "image_format",
    "open_shards",
    "read_manifest",
    "visible_files",
]
