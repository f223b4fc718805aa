"""The gather step: chunks back into one corpus, in dump order, and their stats into one file.

Chunks are merged on the page id (dumps are sorted by it), so the corpus is the same bytes
whatever the chunk count or the order in which the chunk jobs finished.
"""

from __future__ import annotations

import heapq
import json
from operator import itemgetter
from collections.abc import Iterator
from pathlib import Path

from ..stats import StageStats, merge_stats_files
from ..textio import InputError, atomic_output, write_json


_decode = json.JSONDecoder().decode  # json.loads without its per-call argument checks


def _docs(path: Path) -> Iterator[tuple[int, str]]:
    """(page id, text) of a chunk, checking the ids increase (the merge relies on it)."""
    last = None
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                doc = _decode(raw.decode("utf-8"))
                page_id, text = int(doc["id"]), doc["text"]
                if not isinstance(text, str):
                    raise TypeError
            except (UnicodeDecodeError, ValueError, KeyError, TypeError):
                raise InputError(f"{path}: line {lineno}: not a document line (id, text)") from None
            if last is not None and page_id <= last:
                raise InputError(f"{path}: line {lineno}: page id {page_id} after {last}; "
                                 "chunks must be in increasing page-id order (dump order)")
            last = page_id
            yield page_id, text


def gather_corpus(chunks: list[str | Path], output: str | Path,
                  stats_files: list[str | Path] = (), stats_output: str | Path | None = None,
                  extra: dict | None = None) -> StageStats:
    """Merge segmented chunks into ``output``, one document per line; sum the stats files."""
    stats = StageStats("gather").start()
    with atomic_output(output) as out:
        for _, text in heapq.merge(*(_docs(Path(c)) for c in chunks), key=itemgetter(0)):
            if not text:
                stats.count_in(text)
                stats.rejected["empty_after_segmentation"] += 1
                continue
            out.write(text)
            out.write("\n")
            stats.count_passed(text)
    stats.stop()
    if stats_output is not None:
        merged = merge_stats_files(list(stats_files))
        merged["gather"] = stats
        report = {"stages": [s.to_dict() for s in merged.values()]}  # in pipeline order
        report.update(extra or {})
        write_json(stats_output, report)
    return stats
