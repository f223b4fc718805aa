"""Rank shards: base64 image datasets packed, shuffled globally and dealt into equal per-rank
shards for data-parallel training (`prep pack`, `prep shard`, `prep verify`).

The public API::

    from prepsuite.shards import pack_images, shard_dataset, verify_shards

Output layout of :func:`shard_dataset` (see README, "Rank shards"): ``rank-{r:05d}-of-{N:05d}.b64``,
``index.db`` (table ``lines``), ``manifest.json`` and ``rejects.tsv``.

Names are imported on first use, so that ``prep --help`` (which loads this package's commands)
does not pay for numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .layout import FILE_LIST, FORMAT_VERSION, INDEX, MANIFEST, REJECTS, shard_name

if TYPE_CHECKING:
    from .pack import PackResult, pack_images
    from .shard import ShardResult, shard_dataset, shuffled_order
    from .verify import VerifyReport, verify_shards

_LAZY = {
    "PackResult": "pack",
    "pack_images": "pack",
    "ShardResult": "shard",
    "shard_dataset": "shard",
    "shuffled_order": "shard",
    "VerifyReport": "verify",
    "verify_shards": "verify",
}

__all__ = ["FILE_LIST", "FORMAT_VERSION", "INDEX", "MANIFEST", "REJECTS", "shard_name", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
