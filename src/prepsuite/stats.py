"""Per-stage counters that end up in ``stats.json``.

Every stage counts what it saw, kept and dropped (with the reason) and times itself; the
workflow writes one small JSON file per chunk and stage, and the gather step adds them up.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .textio import InputError


@dataclass
class StageStats:
    stage: str
    docs_in: int = 0
    docs_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    counters: Counter[str] = field(default_factory=Counter)
    _started: float = field(default=0.0, repr=False)

    def start(self) -> "StageStats":
        self._started = time.perf_counter()
        return self

    def stop(self) -> "StageStats":
        self.seconds += time.perf_counter() - self._started
        return self

    def count_in(self, text: str, size: int = -1) -> None:
        """Count ``text`` in; ``size`` is its UTF-8 length where known (-1: encode to find it)."""
        self.docs_in += 1
        self.chars_in += len(text)
        self.bytes_in += size if size >= 0 else len(text.encode("utf-8"))

    def count_out(self, text: str) -> int:
        """Count ``text`` out; its UTF-8 length, for the next stage's :meth:`count_in`."""
        size = len(text.encode("utf-8"))
        self.docs_out += 1
        self.chars_out += len(text)
        self.bytes_out += size
        return size

    def count_passed(self, text: str, size: int | None = None) -> None:
        """``count_in`` and ``count_out`` of a text that leaves unchanged (encoded once; not at
        all when the caller has its UTF-8 ``size`` already)."""
        self.add_passed(1, len(text), len(text.encode("utf-8")) if size is None else size)

    def add_passed(self, docs: int, chars: int, size: int) -> None:
        """``docs`` documents of ``chars`` characters and ``size`` UTF-8 bytes in all, passed
        through unchanged (counted in and out)."""
        self.docs_in += docs
        self.docs_out += docs
        self.chars_in += chars
        self.chars_out += chars
        self.bytes_in += size
        self.bytes_out += size

    @property
    def mb_per_s(self) -> float:
        return self.bytes_in / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_started")
        d["rejected"] = dict(sorted(self.rejected.items()))
        d["counters"] = dict(sorted(self.counters.items()))
        d["seconds"] = round(self.seconds, 4)
        d["mb_per_s"] = round(self.mb_per_s, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StageStats":
        s = cls(d["stage"])
        for key in ("docs_in", "docs_out", "chars_in", "chars_out", "bytes_in", "bytes_out", "seconds"):
            setattr(s, key, d.get(key, 0))
        s.rejected = Counter(d.get("rejected", {}))
        s.counters = Counter(d.get("counters", {}))
        return s

    def merge(self, other: "StageStats") -> None:
        for key in ("docs_in", "docs_out", "chars_in", "chars_out", "bytes_in", "bytes_out", "seconds"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.rejected.update(other.rejected)
        self.counters.update(other.counters)

    def summary(self) -> str:
        dropped = sum(self.rejected.values())
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected.items()))
        return (
            f"{self.stage}: {self.docs_in} in, {self.docs_out} out, {dropped} rejected"
            + (f" ({reasons})" if reasons else "")
            + (f", {bad} invalid UTF-8 bytes dropped" if (bad := self.counters.get("invalid_utf8_bytes_dropped")) else "")
            + f", {self.seconds:.2f} s, {self.mb_per_s:.2f} MB/s"
        )


def merge_stats_files(paths: list[str | Path]) -> dict[str, StageStats]:
    """Sum the per-chunk stats files by stage, in the order stages first appear.

    A file holds one stage's dict, or a list of them (a job that ran several stages).
    """
    merged: dict[str, StageStats] = {}
    for path in paths:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            entries = [StageStats.from_dict(e) for e in (d if isinstance(d, list) else [d])]
        except FileNotFoundError:
            raise InputError(f"{path}: stats file not found") from None
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(f"{path}: not a stats file ({err})") from None
        for s in entries:
            if s.stage in merged:
                merged[s.stage].merge(s)
            else:
                merged[s.stage] = s
    return merged
