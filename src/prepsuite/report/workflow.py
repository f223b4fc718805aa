"""What pipelines/report.smk needs in Snakemake's process: files marked for the report, and the
default target's list (the corpus, plus the shards and word vectors once they have been made).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any


def figure(target: str, name: str, category: str) -> Any:
    """``results/report/<target>/<name>.png`` marked for ``snakemake --report``, with the caption
    ``report/<name>.rst`` (relative to the rule file, pipelines/)."""
    return shown(f"results/report/{target}/{name}.png", category, name)


def shown(path: str, category: str, caption: str) -> Any:
    """``path`` marked for the report in ``category``, with the caption ``report/<caption>.rst``."""
    from snakemake.io import report

    return report(path, caption=f"report/{caption}.rst", category=category)


def built_targets(corpus: Sequence[Any], shards: Sequence[Any], w2v: Sequence[Any],
                  exists: Callable[[str], bool] = os.path.exists) -> list[Any]:
    """The default target: the corpus, and the shards and word vectors once they have been made
    (by `snakemake shards` / `snakemake w2v`), so that a plain `snakemake --report report.html`
    shows all three and a plain `snakemake` keeps them up to date, without making them unasked."""
    return (list(corpus)
            + (list(shards) if exists("results/shards/verify.txt") else [])
            + (list(w2v) if exists("results/w2v/train.json") else []))
