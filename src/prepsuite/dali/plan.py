"""Which sample each rank reads at each step: the epoch plan, defined on the global dataset.

A shard directory written by ``prep shard --nranks N`` holds ``n`` real samples dealt round-robin
into N files of P lines each: the sample with **global id** ``g`` is line ``g // N`` of file
``g % N`` (ids ``g >= n`` are the padding repeats). The loader never reasons about files or ranks
when it decides what a step holds; it reasons about global ids, and only then asks which file a
sample lives in. That is what makes a job's batches independent of its world size ``M``:

* ``shuffle="global"`` (every file readable by every rank, e.g. a shared file system): epoch ``e``
  visits the ``n`` real samples in one permutation drawn from ``(seed, e)``; step ``s`` is the slice
  ``[s·G, (s+1)·G)`` of it for the global batch ``G = M · batch_size``, and rank ``m`` takes the
  ``m``-th contiguous ``batch_size`` of that slice. ``len = ceil(n / G)`` (``floor`` with
  ``drop_last``); without ``drop_last`` the last global batch is completed with the permutation's
  first samples, so every rank's every batch is full. Any ``M`` works.
* ``shuffle="local"`` (each rank sees only its node's files): every file is permuted with the same
  permutation of its P lines from ``(seed, e)``; step ``s`` takes ``G / N`` lines of each file, file
  by file. With ``M = N / k`` a rank reads ``k`` consecutive files; with ``M = k · N`` ``k`` ranks
  share a file and split its block. So ``M`` must divide or be a multiple of ``N``, and ``G`` a
  multiple of ``N``; then the global batches are the same for every such ``M``.

In both, the samples of step ``s`` concatenated in rank order are the same list whatever ``M``, and
each sample's augmentation comes from ``(seed, epoch, global id)``: the same crops too. Nothing
here imports DALI or torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SHUFFLES = ("auto", "global", "local")


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """A permutation of ``range(n)`` from ``(seed, epoch)``: the same on every run and every rank."""
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    return np.random.default_rng((seed, epoch)).permutation(n)


@dataclass(frozen=True)
class EpochPlan:
    """The global ids rank ``rank`` of ``nranks`` reads, step by step, in every epoch.

    ``n``, ``shard_ranks`` (N) and ``per_rank`` (P) describe the shard directory; ``rank``,
    ``nranks`` (M) and ``batch_size`` (per rank) the job. Construction checks that the pair works
    and raises ``ValueError`` saying why when it does not.
    """

    n: int
    shard_ranks: int
    per_rank: int
    rank: int
    nranks: int
    batch_size: int
    seed: int = 0
    drop_last: bool = False
    shuffle: str = "global"

    def __post_init__(self) -> None:
        if self.shuffle not in ("global", "local"):
            raise ValueError(f"shuffle must be 'global' or 'local' here, got {self.shuffle!r}")
        if self.nranks < 1 or not 0 <= self.rank < self.nranks:
            raise ValueError(f"rank must be in 0..{self.nranks - 1}, got {self.rank} (nranks={self.nranks})")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.shuffle == "local":
            N, M = self.shard_ranks, self.nranks
            if N % M and M % N:
                raise ValueError(
                    f"the shards were written for {N} ranks and only this node's files are visible, so "
                    f"{M} ranks cannot share them (the number of ranks must divide or be a multiple of {N}); "
                    f"make every shard file visible to every rank (shuffle='global'), or run "
                    f"`prep shard --nranks {M}`"
                )
            if self.global_batch % N:
                raise ValueError(
                    f"with node-local shards every file gives the same number of samples to each step: "
                    f"the global batch ({self.nranks} ranks x {self.batch_size} = {self.global_batch}) must "
                    f"be a multiple of the {N} shard files"
                )
        if self.steps == 0:
            raise ValueError(
                f"{self._epoch_pool} samples make no full global batch of {self.global_batch} with drop_last=True"
            )

    @property
    def global_batch(self) -> int:
        return self.nranks * self.batch_size

    @property
    def _epoch_pool(self) -> int:
        """What one epoch's steps are cut from: all real samples, or one file's lines (local)."""
        return self.n if self.shuffle == "global" else self.per_rank

    @property
    def _per_step(self) -> int:
        return self.global_batch if self.shuffle == "global" else self.global_batch // self.shard_ranks

    @property
    def steps(self) -> int:
        """Steps (batches per rank) in an epoch: equal on every rank by construction."""
        pool, per = self._epoch_pool, self._per_step
        return pool // per if self.drop_last else math.ceil(pool / per)

    def files(self) -> list[int]:
        """The shard files (by rank index) this rank reads."""
        N, M, m = self.shard_ranks, self.nranks, self.rank
        if self.shuffle == "global":
            return list(range(N))
        if M <= N:
            k = N // M
            return list(range(m * k, (m + 1) * k))
        return [m // (M // N)]

    def ids(self, epoch: int, index: np.ndarray | int) -> np.ndarray:
        """Global ids of this rank's samples ``index`` (0 … steps·batch_size − 1) in ``epoch``."""
        return self.ids_with(epoch_order(self.seed, epoch, self._epoch_pool), np.asarray(index, dtype=np.int64))

    def ids_with(self, order: np.ndarray, index: np.ndarray) -> np.ndarray:
        """:meth:`ids` given the epoch's permutation (callers cache it: it is the costly part)."""
        B, N, M, m = self.batch_size, self.shard_ranks, self.nranks, self.rank
        s, j = np.divmod(index, B)
        if self.shuffle == "global":
            return order[(s * self.global_batch + m * B + j) % self.n]
        per = self._per_step  # lines of each file in one step
        if M <= N:
            k = N // M
            f, jf = np.divmod(j, per)
            file, idx = m * k + f, s * per + jf
        else:
            k = M // N
            file, idx = np.full_like(j, m // k), s * per + (m % k) * B + j
        return order[idx % self.per_rank] * N + file

    def rank_order(self, epoch: int) -> np.ndarray:
        """This rank's global ids for the whole of ``epoch``, in the order its batches hold them."""
        return self.ids(epoch, np.arange(self.steps * self.batch_size))

    def global_batch_ids(self, epoch: int, step: int) -> np.ndarray:
        """Step ``step``'s samples over all ranks in rank order: what one process with batch G reads."""
        parts = []
        for r in range(self.nranks):
            plan = EpochPlan(self.n, self.shard_ranks, self.per_rank, r, self.nranks, self.batch_size,
                             self.seed, self.drop_last, self.shuffle)
            parts.append(plan.ids(epoch, np.arange(step * self.batch_size, (step + 1) * self.batch_size)))
        return np.concatenate(parts)
