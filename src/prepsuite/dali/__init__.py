"""DALI loaders: each rank's shard fed to PyTorch training, decoded on the GPU when there is one.

``from prepsuite.dali import ShardLoader`` is the entry point (see :mod:`.loader`);
:func:`shard_pipeline` builds the underlying DALI pipeline for other frameworks or for checks.
DALI and PyTorch are the optional extra ``dali`` (``pip install 'prepsuite[dali]'``); they are
imported only when a pipeline is built, so importing this package stays cheap.
"""

from .loader import ShardLoader
from .pipeline import IMAGENET_MEAN, IMAGENET_STD, cuda_device_count, resolve_device, shard_pipeline
from .source import RankShard, ShardSource, augmentation_numbers, crop_window, epoch_order, open_rank_shard

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "RankShard",
    "ShardLoader",
    "ShardSource",
    "augmentation_numbers",
    "crop_window",
    "cuda_device_count",
    "epoch_order",
    "open_rank_shard",
    "resolve_device",
    "shard_pipeline",
]
