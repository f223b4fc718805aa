"""`prep verify OUT`: re-read a shard directory and check it against its manifest and index.

What it proves, reading only ``OUT``:

* every rank file has ``per_rank_lines`` lines, and the size and sha256 the manifest records;
* ``index.db`` describes every shard line (offset, length, label, padding flag) exactly;
* every line of every source part is accounted for exactly once: sharded as a real line or
  listed in ``rejects.tsv`` (so every valid source line is present at least once);
* the duplicated lines are exactly the recorded padding: each padding line repeats a real line
  of the same source line, byte for byte, and no real line appears twice.

With ``data_dir`` it also re-reads the source parts: their sizes and hashes must match the
manifest and every shard line must equal the source bytes the index points to.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..progress import Meter, Work
from ..textio import REJECTS_HEADER, tsv_unfield
from ..wording import counted
from .layout import FORMAT_VERSION, INDEX, MANIFEST, REJECTS, relative_entry, shard_name
from .streams import PartFiles, part_descriptor_budget

_PER_KIND = 5  # problems listed per kind; the rest are counted


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_shards`; ``ok`` is true when ``problems`` is empty."""

    out_dir: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n: int = 0
    nranks: int = 0
    per_rank_lines: int = 0
    padding: int = 0
    rejected: int = 0
    lines_checked: int = 0
    bytes_checked: int = 0
    sources_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (
            f"verify: {self.out_dir}: {self.nranks} ranks x {self.per_rank_lines} lines, n={self.n},"
            f" padding {self.padding}, rejected {self.rejected}; {self.lines_checked} lines"
            f" ({self.bytes_checked / 1e6:.1f} MB) checked"
            + ("; source parts checked" if self.sources_checked else "")
        )
        lines = [head] + [f"note: {n}" for n in self.notes]
        if self.ok:
            lines.append("verify: OK")
        else:
            lines += [f"problem: {p}" for p in self.problems]
            lines.append(f"verify: FAILED ({counted(len(self.problems), 'problem')} listed)")
        return "\n".join(lines)


class _Problems:
    """Collects problems, listing a few of each kind and counting the rest, so one broken shard
    gives a readable report rather than a million lines."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.extra: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()

    def add(self, kind: str, message: str) -> None:
        self.seen[kind] += 1
        if self.seen[kind] <= _PER_KIND:
            self.items.append(message)
        else:
            self.extra[kind] += 1

    def done(self) -> list[str]:
        return self.items + [f"… and {k} more {kind} {'problem' if k == 1 else 'problems'}"
                             for kind, k in self.extra.items()]


def _int_or_none(field: bytes) -> int | None:
    try:
        return int(field)
    except ValueError:
        return None


def _digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


@dataclass
class _Shard:
    lines: int = 0
    offsets: array = field(default_factory=lambda: array("q"))
    lengths: array = field(default_factory=lambda: array("q"))
    digests: array = field(default_factory=lambda: array("Q"))
    labels: list[bytes] = field(default_factory=list)


def _read_shard(path: Path, expect: dict[str, Any], problems: _Problems, report: VerifyReport,
                meter: Meter) -> _Shard | None:
    if not path.is_file():
        problems.add("missing", f"{path.name}: shard file missing")
        return None
    shard = _Shard()
    sha = hashlib.sha256()
    offset = told = 0
    with open(path, "rb", buffering=1 << 20) as fh:
        for raw in fh:
            sha.update(raw)
            if raw[-1:] != b"\n":
                problems.add("truncated", f"{path.name}: last line (line {shard.lines + 1}) has no newline: truncated file?")
            line = raw[:-1] if raw[-1:] == b"\n" else raw
            tab = line.rfind(b"\t")
            shard.offsets.append(offset)
            shard.lengths.append(len(line))
            shard.digests.append(_digest(line))
            shard.labels.append(line[tab + 1 :] if tab >= 0 else b"")
            shard.lines += 1
            offset += len(raw)
            if offset - told >= meter.step:
                meter.add(offset - told)
                told = offset
    meter.add(offset - told)
    report.lines_checked += shard.lines
    report.bytes_checked += offset
    if shard.lines != expect.get("lines"):
        problems.add("count", f"{path.name}: {shard.lines} lines, manifest says {expect.get('lines')}")
    if offset != expect.get("bytes"):
        problems.add("size", f"{path.name}: {offset} bytes, manifest says {expect.get('bytes')}")
    if sha.hexdigest() != expect.get("sha256"):
        problems.add("hash", f"{path.name}: sha256 {sha.hexdigest()[:16]}… does not match the manifest ({str(expect.get('sha256'))[:16]}…)")
    return shard


def _load_manifest(out: Path, problems: _Problems) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.is_file():
        problems.add("manifest", f"{path}: manifest missing (not a finished shard directory)")
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.add("manifest", f"{path}: not valid JSON ({e})")
        return None
    keys = {"format_version", "n", "nranks", "seed", "per_rank_lines", "padding", "rejected", "ranks", "sources"}
    missing = sorted(keys - set(manifest)) if isinstance(manifest, dict) else sorted(keys)
    if missing:
        problems.add("manifest", f"{path}: keys missing: {', '.join(missing)}")
        return None
    if manifest["format_version"] != FORMAT_VERSION:
        problems.add("manifest", f"{path}: format_version {manifest['format_version']!r}, expected {FORMAT_VERSION}")
        return None
    n, nranks = manifest["n"], manifest["nranks"]
    if not (isinstance(n, int) and isinstance(nranks, int) and n >= 1 and nranks >= 1):
        problems.add("manifest", f"{path}: n={n!r} and nranks={nranks!r} must be integers >= 1")
        return None
    per_rank = math.ceil(n / nranks)
    if manifest["per_rank_lines"] != per_rank:
        problems.add("manifest", f"{path}: per_rank_lines {manifest['per_rank_lines']} != ceil(n / nranks) = {per_rank}")
    if manifest["padding"] != per_rank * nranks - n:
        problems.add("manifest", f"{path}: padding {manifest['padding']} != {per_rank * nranks - n}")
    ranks = manifest["ranks"]
    if len(ranks) != nranks or [r.get("rank") for r in ranks] != list(range(nranks)):
        problems.add("manifest", f"{path}: 'ranks' must list ranks 0..{nranks - 1} in order")
        return None
    for r in ranks:
        if r.get("file") != shard_name(r["rank"], nranks):
            problems.add("manifest", f"{path}: rank {r['rank']} file {r.get('file')!r}, expected {shard_name(r['rank'], nranks)!r}")
        if r.get("lines") != per_rank or r.get("real", 0) + r.get("padding", 0) != per_rank:
            problems.add("count", f"rank {r['rank']}: manifest records {r.get('lines')} lines"
                         f" ({r.get('real')} real + {r.get('padding')} padding), expected {per_rank}")
    if sum(r.get("real", 0) for r in ranks) != n or sum(r.get("padding", 0) for r in ranks) != manifest["padding"]:
        problems.add("manifest", f"{path}: per-rank real and padding counts do not add up to n and padding")
    return manifest


def _read_index(out: Path, problems: _Problems) -> list[tuple] | None:
    path = out / INDEX
    if not path.is_file():
        problems.add("index", f"{path}: index missing")
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            cols = [row[1] for row in conn.execute("PRAGMA table_info(lines)")]
            want = ["rank", "position", "shard_offset", "length", "source_file", "source_line",
                    "source_offset", "label", "is_padding"]
            if not set(want) <= set(cols):
                problems.add("index", f"{path}: table 'lines' lacks columns {sorted(set(want) - set(cols))}")
                return None
            return conn.execute(f"SELECT {', '.join(want)} FROM lines ORDER BY rank, position").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        problems.add("index", f"{path}: not a readable SQLite database ({e})")
        return None


def _read_rejects(out: Path, problems: _Problems) -> list[tuple[str, int]]:
    path = out / REJECTS
    if not path.is_file():
        problems.add("rejects", f"{path}: rejects file missing")
        return []
    rows: list[tuple[str, int]] = []
    with open(path, encoding="utf-8") as fh:
        if fh.readline() != REJECTS_HEADER:
            problems.add("rejects", f"{path}: header is not {REJECTS_HEADER.strip()!r}")
        for lineno, text in enumerate(fh, start=2):
            fields = text.rstrip("\n").split("\t")
            if len(fields) != 3 or not fields[1].isdigit():
                problems.add("rejects", f"{path}: line {lineno} is not 'source<TAB>line<TAB>reason'")
                continue
            rows.append((tsv_unfield(fields[0]), int(fields[1])))
    return rows


def verify_shards(out_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None,
                  progress: Work | None = None) -> VerifyReport:
    """Check the shard directory ``out_dir`` (see the module docstring); never raises for a bad
    directory, it reports. ``data_dir`` also checks the source parts (as named in the manifest).
    ``progress(done, total)`` hears of the shard bytes read so far."""
    out = Path(out_dir)
    report = VerifyReport(out)
    problems = _Problems()
    try:
        _verify(out, None if data_dir is None else Path(data_dir), report, problems, progress)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        # A manifest or index edited into the wrong shape (a string where a count belongs …).
        problems.add("malformed", f"{out}: malformed manifest, index or rejects file ({type(e).__name__}: {e})")
    report.problems = problems.done()
    return report


def _verify(out: Path, data_dir: Path | None, report: VerifyReport, problems: _Problems,
            progress: Work | None = None) -> None:
    if not out.is_dir():
        problems.add("manifest", f"{out}: not a directory")
        return
    manifest = _load_manifest(out, problems)
    if manifest is None:
        return
    n, nranks, per_rank = manifest["n"], manifest["nranks"], manifest["per_rank_lines"]
    report.n, report.nranks, report.per_rank_lines = n, nranks, per_rank
    report.padding, report.rejected = manifest["padding"], manifest["rejected"]

    expected_files = {shard_name(r, nranks) for r in range(nranks)}
    for stray in sorted(p.name for p in out.glob("rank-*.b64") if p.name not in expected_files):
        problems.add("stray", f"{stray}: shard file not in the manifest")
    meter = Meter(progress, sum(int(r.get("bytes") or 0) for r in manifest["ranks"]) if progress else 0)
    shards = [_read_shard(out / shard_name(r, nranks), manifest["ranks"][r], problems, report, meter)
              for r in range(nranks)]

    sources = manifest["sources"]
    source_ids = {s["file"]: i for i, s in enumerate(sources)}
    rows = _read_index(out, problems)
    rejects = _read_rejects(out, problems)
    if len(rejects) != manifest["rejected"]:
        problems.add("rejects", f"{REJECTS}: {len(rejects)} rows, manifest records {manifest['rejected']} rejected")
    if rows is None:
        return

    # Index rows against the shard lines.
    total = per_rank * nranks
    key = np.full(total, -1, dtype=np.int64)  # (source, line) of every output position, rank-major
    digest = np.zeros(total, dtype=np.uint64)
    padding_flag = np.zeros(total, dtype=bool)
    seen_per_rank = [0] * nranks
    pointers: list[tuple[int, int, int, int, int]] = []  # (slot, source, offset, length, line) for the source check
    if len(rows) != total:
        problems.add("index", f"{INDEX}: {len(rows)} rows, expected {total} ({nranks} x {per_rank})")
    for rank, position, shard_offset, length, source_file, source_line, source_offset, label, is_padding in rows:
        where = f"{INDEX}: rank {rank} position {position}"
        if not (isinstance(rank, int) and 0 <= rank < nranks) or position != seen_per_rank[rank] or position >= per_rank:
            problems.add("index", f"{where}: out of order or out of range")
            continue
        seen_per_rank[rank] += 1
        slot = rank * per_rank + position
        shard = shards[rank]
        if shard is not None and position < shard.lines:
            if shard.offsets[position] != shard_offset or shard.lengths[position] != length:
                problems.add("index", f"{where}: offset/length {shard_offset}/{length} but the shard line is at"
                             f" {shard.offsets[position]} with {shard.lengths[position]} bytes")
            elif _int_or_none(shard.labels[position]) != label:
                problems.add("label", f"{where}: label {label} but the shard line says {shard.labels[position]!r}")
            digest[slot] = shard.digests[position]
        elif shard is not None:
            problems.add("index", f"{where}: beyond the end of {shard_name(rank, nranks)}")
        if bool(is_padding) != (rank + position * nranks >= n):
            problems.add("padding", f"{where}: is_padding={is_padding}, but padding is exactly the output positions >= n")
        padding_flag[slot] = bool(is_padding)
        src = source_ids.get(source_file)
        if src is None or not (1 <= source_line <= sources[src]["lines"]):
            problems.add("index", f"{where}: source {source_file!r} line {source_line} is not in the manifest's sources")
            continue
        key[slot] = (src << 40) | source_line
        pointers.append((slot, src, source_offset, length, source_line))

    # Every real line unique, every padding line a byte-identical repeat of a real one.
    real_keys, real_digests = key[~padding_flag], digest[~padding_flag]
    real_keys, real_digests = real_keys[real_keys >= 0], real_digests[real_keys >= 0]
    order = np.argsort(real_keys, kind="stable")
    real_keys, real_digests = real_keys[order], real_digests[order]
    twice = int(np.count_nonzero(real_keys[1:] == real_keys[:-1]))
    if twice:
        problems.add("duplicate", f"{twice} source lines appear more than once outside the recorded padding")
    pad_keys, pad_digests = key[padding_flag], digest[padding_flag]
    if len(pad_keys) != manifest["padding"]:
        problems.add("padding", f"{len(pad_keys)} padding lines in the index, manifest records {manifest['padding']}")
    if len(real_keys):
        at = np.minimum(np.searchsorted(real_keys, pad_keys), len(real_keys) - 1)
        orphan = real_keys[at] != pad_keys
        if orphan.any():
            problems.add("padding", f"{int(orphan.sum())} padding lines repeat no real line")
        altered = (~orphan) & (real_digests[at] != pad_digests)
        if altered.any():
            problems.add("padding", f"{int(altered.sum())} padding lines differ from the line they repeat")
    content_dups = len(real_digests) - len(np.unique(real_digests))
    if content_dups:
        report.notes.append(f"{content_dups} real lines have the same bytes as another real line"
                            " (duplicates in the input; check with --data-dir)")

    # Every source line sharded or rejected, exactly once.
    lines_of = [array("q") for _ in sources]
    for k in real_keys.tolist():
        lines_of[k >> 40].append(k & ((1 << 40) - 1))
    for source, line in rejects:
        if source not in source_ids:
            problems.add("rejects", f"{REJECTS}: source {source!r} is not in the manifest")
        else:
            lines_of[source_ids[source]].append(line)
    for i, s in enumerate(sources):
        counts = np.bincount(np.frombuffer(lines_of[i], dtype=np.int64) if len(lines_of[i]) else np.zeros(0, np.int64),
                             minlength=s["lines"] + 1)
        lost = np.flatnonzero(counts[1 : s["lines"] + 1] == 0) + 1
        if len(lost):
            problems.add("lost", f"{s['file']}: {len(lost)} source lines neither sharded nor rejected (first: line {lost[0]})")
        many = np.flatnonzero(counts[1:] > 1) + 1
        if len(many):
            problems.add("duplicate", f"{s['file']}: {len(many)} source lines both sharded and rejected (first: line {many[0]})")

    if data_dir is not None:
        _check_sources(data_dir, sources, pointers, digest, problems)
        report.sources_checked = True


def _check_sources(data_dir: Path, sources: list[dict[str, Any]], pointers: list[tuple[int, int, int, int, int]],
                   digest: np.ndarray, problems: _Problems) -> None:
    """The source parts are unchanged and every shard line equals the bytes the index points to."""
    unchanged: dict[int, Path] = {}  # source number → its part, found unchanged
    for i, s in enumerate(sources):
        try:
            path = relative_entry(s["file"], data_dir, "part file", "manifest")
        except ValueError as e:
            problems.add("source", str(e))
            continue
        if not path.is_file():
            problems.add("source", f"{path}: source part missing")
            continue
        sha = hashlib.sha256()
        size = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                sha.update(chunk)
                size += len(chunk)
        if size != s["bytes"] or sha.hexdigest() != s["sha256"]:
            problems.add("source", f"{path}: {size} bytes, sha256 {sha.hexdigest()[:16]}…; the manifest"
                         f" records {s['bytes']} bytes, {str(s['sha256'])[:16]}… (changed since sharding)")
            continue
        unchanged[i] = path
    with PartFiles(unchanged, part_descriptor_budget()) as parts:
        for slot, src, offset, length, line in pointers:
            if src in unchanged and _digest(parts.pread(src, length, offset)) != int(digest[slot]):
                problems.add("altered", f"{sources[src]['file']} line {line}: the shard line differs from the source")
