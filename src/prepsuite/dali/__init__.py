"""DALI loaders: a shard directory fed to PyTorch training, decoded on the GPU when there is one.

``from prepsuite.dali import ShardLoader`` is the entry point (see :mod:`.loader`); :mod:`.plan`
defines which samples each step holds (the same global batches for any world size);
:func:`shard_pipeline` builds the underlying DALI pipeline for other frameworks or for checks.
DALI and PyTorch are the optional extra ``dali`` (``pip install 'prepsuite[dali]'``); they are
imported only when a pipeline is built, so importing this package stays cheap.
"""

from .loader import ShardLoader
from .pipeline import IMAGENET_MEAN, IMAGENET_STD, cuda_device_count, resolve_device, shard_pipeline
from .plan import EpochPlan, epoch_order
from .source import (
    ShardSet,
    ShardSource,
    augmentation_numbers,
    crop_window,
    open_shards,
    read_manifest,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "EpochPlan",
    "ShardLoader",
    "ShardSet",
    "ShardSource",
    "augmentation_numbers",
    "crop_window",
    "cuda_device_count",
    "epoch_order",
    "open_shards",
    "read_manifest",
    "resolve_device",
    "shard_pipeline",
]
