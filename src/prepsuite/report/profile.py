"""One pass over a corpus: how many documents, how long, which tokens.

Tokens are the whitespace-separated words of a line, which in the workflow's corpus are
jieba's words (the segment stage joins them with single spaces). Characters are counted
without those spaces, so a document's length does not depend on how it was segmented.
The profile keeps histograms and a sampled rank-frequency curve, not one entry per document,
so its JSON stays small for a corpus of millions of documents.
"""

from __future__ import annotations

import json
import os
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..textio import InputError, read_records, write_json

PERCENTILES = (0, 10, 25, 50, 75, 90, 99, 100)
TOP_TOKENS = 100
_BINS = 40


@dataclass
class CorpusProfile:
    """Document and token counts of one corpus file (see :func:`profile_corpus`)."""

    path: str
    documents: int
    empty: int
    chars: np.ndarray  # per document, spaces between tokens not counted
    tokens: np.ndarray  # per document
    counts: Counter[str] = field(repr=False)

    @property
    def vocabulary(self) -> int:
        return len(self.counts)

    @property
    def token_total(self) -> int:
        return int(self.tokens.sum())

    def percentiles(self, what: str) -> dict[str, int]:
        """``p0`` … ``p100`` of ``chars`` or ``tokens`` per document (nearest rank)."""
        values = getattr(self, what)
        if not len(values):
            return {f"p{p}": 0 for p in PERCENTILES}
        return {f"p{p}": int(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES, method="nearest"))}

    def top(self, n: int = TOP_TOKENS) -> list[tuple[str, int]]:
        """The ``n`` most frequent tokens, most frequent first (ties by token, for stable output)."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def rank_frequency(self, points: int = 200) -> list[tuple[int, int]]:
        """(rank, count) at about ``points`` ranks spread evenly on a log scale, first and last
        rank included: the Zipf curve without one entry per word of the vocabulary."""
        freqs = np.sort(np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts)))[::-1]
        if not len(freqs):
            return []
        ranks = np.unique(np.geomspace(1, len(freqs), num=min(points, len(freqs))).round().astype(np.int64))
        return [(int(r), int(freqs[r - 1])) for r in ranks]

    def to_dict(self, top: int = TOP_TOKENS) -> dict[str, Any]:
        """What ``prep inspect --json`` writes and the report's plots read."""
        return {
            "path": self.path,
            "documents": self.documents,
            "empty_documents": self.empty,
            "tokens_total": self.token_total,
            "chars_total": int(self.chars.sum()),
            "vocabulary": self.vocabulary,
            "chars": {"percentiles": self.percentiles("chars"), "histogram": _histogram(self.chars)},
            "tokens": {"percentiles": self.percentiles("tokens"), "histogram": _histogram(self.tokens)},
            "top_tokens": [[t, c] for t, c in self.top(top)],
            "rank_frequency": [list(rc) for rc in self.rank_frequency()],
        }


def _histogram(values: np.ndarray) -> dict[str, list]:
    """Counts in log-spaced bins (document lengths span four orders of magnitude); empty
    documents (length 0) are counted apart, as ``zero``."""
    positive = values[values > 0]
    if not len(positive):
        return {"edges": [], "counts": [], "zero": int(len(values))}
    low, high = int(positive.min()), int(positive.max()) + 1
    edges = np.unique(np.geomspace(low, high, num=_BINS + 1).round().astype(np.int64))
    if len(edges) < 2:
        edges = np.array([low, high])
    counts, _ = np.histogram(positive, bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "zero": int(len(values) - len(positive))}


def profile_corpus(path: str | os.PathLike[str], fmt: str = "auto",
                   progress: Callable[[int], None] | None = None) -> CorpusProfile:
    """Read ``path`` (plain text, one document per line, or JSON lines with a ``text`` field;
    ``fmt`` as in :func:`~prepsuite.textio.read_records`) and count lengths and tokens."""
    path = str(path)
    chars, tokens = array("q"), array("q")
    counts: Counter[str] = Counter()
    empty = 0
    for record in read_records(path, fmt, progress=progress):
        words = record.text.split()
        if not words:
            empty += 1
        counts.update(words)
        tokens.append(len(words))
        chars.append(sum(map(len, words)))
    if not len(tokens):
        raise InputError(f"{path}: no documents")
    return CorpusProfile(path, len(tokens), empty, np.frombuffer(chars, dtype=np.int64),
                         np.frombuffer(tokens, dtype=np.int64), counts)


def write_profile(profile: CorpusProfile, output: str | os.PathLike[str], top: int = TOP_TOKENS) -> None:
    write_json(output, profile.to_dict(top))


def read_profile(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A profile written by :func:`write_profile`, checked for the keys the plots read."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for key in ("documents", "chars", "tokens", "top_tokens", "rank_frequency"):
            data[key]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a corpus profile (prep inspect CORPUS --json): {err}") from None
    return data
