"""``ShardLoader``: a shard directory as PyTorch batches, decoded by DALI, for any world size.

The loader keeps the promise data-parallel training needs: ``len(loader)`` — and the number of
steps actually run — is the same on every rank, so a distributed job never waits at a collective
for a rank that ran out of data. And it keeps the one a gradient-alignment check needs: step ``b``
of epoch ``e`` holds the same samples with the same crops whether one process takes the whole
global batch or ``M`` processes take ``1/M`` of it each (see :mod:`.plan` for the definition, and
``docs/loader.md`` for the settings it needs: same seed, same global batch, same ``drop_last``).
The world size need not be the one the shards were written for.

Its position is the pair (epoch, next step). ``set_epoch`` chooses the epoch (and with it the
order, a permutation from ``(seed, epoch)``); iterating yields the rest of that epoch and moves on
to the next one; ``state_dict`` / ``load_state_dict`` save and restore the pair — also into a job
with another world size at the same global batch, which then continues with the same global
batches. A DALI pipeline serves consecutive epochs without being rebuilt; it is rebuilt (a second
or two) only when the position jumps.
"""

from __future__ import annotations

import gc
import io
import math
import os
import re
from pathlib import Path
from typing import Any

from ..textio import InputError
from .pipeline import default_device_id, resolve_device, shard_pipeline
from .plan import SHUFFLES, EpochPlan
from .source import ShardBatchSource, ShardSet, ShardSource, open_shards, read_manifest, visible_files


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def _torch_has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class ShardLoader:
    """Batches ``(images, labels)`` of one rank's share of a shard directory, decoded by DALI.

    ``ShardLoader(shard_dir, batch_size, rank=…, nranks=…, train=True, device="auto", seed=0)``:

    * ``shard_dir`` — a directory written by ``prep shard`` (rank files, ``index.db``,
      ``manifest.json``), for any number of ranks N.
    * ``batch_size`` — per rank; the global batch is ``batch_size × nranks``.
    * ``rank``, ``nranks`` — default to ``RANK`` and ``WORLD_SIZE`` as torchrun sets them (else
      0 and 1); the GPU is ``device_id`` or ``LOCAL_RANK``. ``nranks`` need not be N.
    * ``shuffle`` — ``"global"``: one permutation of all samples per epoch, any ``nranks`` (every
      shard file must be readable, e.g. a shared file system); ``"local"``: each rank reads only
      its share of the files (node-local copies), ``nranks`` dividing or a multiple of N;
      ``"auto"`` (default): global when every file is visible, else local.
    * ``train`` — RandomResizedCrop + flip (True) or resize + centre crop (False), both to
      ``size``×``size``, normalised with ImageNet mean/std, float CHW (``fp16`` for half).
    * ``device`` — ``"auto"`` decodes on the GPU (``mixed``) when one is present, else on the CPU;
      ``"cpu"`` or ``"mixed"`` force one. On the GPU, images and labels are CUDA tensors.
    * ``drop_last`` — drop the last, incomplete global batch (``len = n // G``) instead of
      completing it with the epoch's first samples (``len = ceil(n / G)``; every batch is full).
    * ``num_classes`` — refuse a label outside ``0..num_classes-1`` (naming its file and line);
      defaults to the manifest's ``num_classes`` where ``prep shard`` recorded one.
    * ``num_workers`` — reader processes (base64 lines → encoded images); 0 reads in this
      process (the default when decoding on the CPU; up to 4 processes on the GPU);
      ``num_threads`` — DALI's decoding/augmentation threads; ``prefetch`` — batches prepared ahead.
    * ``return_index`` — also yield the global sample ids of the batch (line ``id // N + 1`` of
      shard file ``id % N``).
    * ``roi_decode`` — in training, decode only the region of each image the crop keeps.
    """

    def __init__(
        self,
        shard_dir: str | os.PathLike[str],
        batch_size: int,
        *,
        rank: int | None = None,
        nranks: int | None = None,
        shuffle: str = "auto",
        train: bool = True,
        device: str = "auto",
        seed: int = 0,
        size: int = 224,
        fp16: bool = False,
        drop_last: bool = False,
        num_classes: int | None = None,
        num_workers: int | None = None,
        num_threads: int | None = None,
        prefetch: int = 2,
        device_id: int | None = None,
        start_method: str = "auto",
        eval_resize: int | None = None,
        area: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        return_index: bool = False,
        roi_decode: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if start_method not in ("auto", "fork", "spawn"):
            raise ValueError(f"start_method must be auto, fork or spawn; got {start_method!r}")
        if shuffle not in SHUFFLES:
            raise ValueError(f"shuffle must be one of {', '.join(SHUFFLES)}; got {shuffle!r}")
        env_rank, env_world = _env_int("RANK"), _env_int("WORLD_SIZE")
        self.rank = rank if rank is not None else (env_rank if env_rank is not None else 0)
        self.nranks = nranks if nranks is not None else (env_world if env_world is not None else 1)
        if self.nranks < 1:
            raise ValueError(f"nranks must be >= 1, got {self.nranks}")
        if not 0 <= self.rank < self.nranks:
            raise ValueError(f"rank must be in 0..{self.nranks - 1}, got {self.rank}")
        manifest = read_manifest(shard_dir)
        visible = visible_files(shard_dir, manifest)
        N = int(manifest["nranks"])
        if shuffle == "auto":
            shuffle = "global" if len(visible) == N else "local"
        elif shuffle == "global" and len(visible) < N:
            missing = sorted(set(range(N)) - set(visible))
            raise FileNotFoundError(
                f"{shard_dir}: shuffle='global' reads every shard file, but {len(missing)} of {N} are not "
                f"here (e.g. {manifest['ranks'][missing[0]]['file']}); use shuffle='local' for node-local files"
            )
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.batch_size = batch_size
        try:
            self.plan = EpochPlan(
                n=int(manifest["n"]), shard_ranks=N, per_rank=int(manifest["per_rank_lines"]),
                rank=self.rank, nranks=self.nranks, batch_size=batch_size, seed=seed,
                drop_last=drop_last, shuffle=shuffle,
            )
        except ValueError as e:  # the plan knows numbers only; the user needs the directory
            raise ValueError(f"{shard_dir}: {e}") from None
        files = self.plan.files()
        absent = [f for f in files if f not in visible]
        if absent:
            raise FileNotFoundError(
                f"{Path(shard_dir) / manifest['ranks'][absent[0]]['file']}: rank {self.rank} of {self.nranks} "
                f"reads shard files {files[0]}..{files[-1]} of {N}, and this one is not on this node"
            )
        self.shards: ShardSet = open_shards(shard_dir, files, manifest)
        if num_classes is None and manifest.get("num_classes") is not None:
            num_classes = int(manifest["num_classes"])
        self.num_classes = num_classes
        if num_classes is not None:
            self.shards.check_labels(num_classes, files)
        self.train = train
        self.device = resolve_device(device)
        if self.device == "mixed" and device == "auto" and not _torch_has_cuda():
            self.device = "cpu"  # a CPU build of PyTorch cannot hold the GPU's batches
        self.device_id = (device_id if device_id is not None else default_device_id()) if self.device == "mixed" else None
        self.size = size
        self.fp16 = fp16
        if num_workers is None:
            # On the CPU the decoder needs ~8 ms of a core per photo-sized JPEG and the reader
            # ~0.3 ms: reading in this process is cheaper than handing each sample over from a
            # reader process (measured: 0.9x DALI's own file reader, vs 0.7x with 2 readers).
            # The GPU decodes far faster, so there the readers run in parallel processes.
            num_workers = 0 if self.device == "cpu" else _default_workers()
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.num_workers = num_workers
        self.num_threads = num_threads if num_threads is not None else _default_workers()
        self.prefetch = prefetch
        self.start_method = start_method
        self.eval_resize = eval_resize
        self.area = tuple(area)
        self.ratio = tuple(ratio)
        self.return_index = return_index
        self.roi_decode = roi_decode

        self._len = self.plan.steps
        self.epoch = 0
        self._next_batch = 0
        self._pipe: Any = None
        self._iter: Any = None
        self._pipe_pos: tuple[int, int] | None = None  # (epoch, batch) the DALI iterator yields next

    # --- the sampler-like interface ---------------------------------------------------------

    @property
    def n(self) -> int:
        """Real samples in the dataset (padding lines of the shard files not counted)."""
        return self.plan.n

    @property
    def global_batch(self) -> int:
        """Samples per step over all ranks: ``batch_size × nranks``."""
        return self.plan.global_batch

    def __len__(self) -> int:
        """Steps per epoch, equal on every rank: ``ceil(n / G)`` (``floor`` with ``drop_last``);
        with ``shuffle="local"`` the same with the lines of one shard file and ``G / N``."""
        return self._len

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order (a permutation from (seed, epoch)) iteration follows.

        Calling it with the epoch the loader is already in keeps the position, so the usual
        ``for epoch in range(start, n): loader.set_epoch(epoch)`` loop works unchanged after
        ``load_state_dict`` resumed mid-epoch.
        """
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        if epoch != self.epoch:
            self.epoch, self._next_batch = epoch, 0

    def order(self, epoch: int | None = None) -> list[int]:
        """Global ids this rank reads in ``epoch`` (default: the current one), batch after batch."""
        e = self.epoch if epoch is None else epoch
        return self.plan.rank_order(e).tolist()

    def state_dict(self) -> dict[str, int | bool | str]:
        """Where iteration stands: the epoch and the next step, with what gives them meaning."""
        return {
            "epoch": self.epoch,
            "batch": self._next_batch,
            "seed": self.seed,
            "global_batch": self.global_batch,
            "n": self.n,
            "shard_nranks": self.plan.shard_ranks,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "nranks": self.nranks,  # informative: a job with another world size may resume it
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue at the step ``state`` names (from any rank of a job with the same global batch).

        The world size may differ from the saving job's: step ``b`` is the same global batch for
        every world size, so the job continues with the global batches the old one would have run.
        """
        mine = self.state_dict()
        for key in ("seed", "global_batch", "n", "shard_nranks", "shuffle", "drop_last"):
            if key in state and state[key] != mine[key]:
                hint = " (batch_size x nranks)" if key == "global_batch" else ""
                raise ValueError(
                    f"state was saved with {key}={state[key]!r}, this loader has {key}={mine[key]!r}{hint}; "
                    "its step index would point at different samples"
                )
        epoch, batch = int(state["epoch"]), int(state["batch"])
        if epoch < 0 or not 0 <= batch <= self._len:
            raise ValueError(f"state has epoch={epoch}, batch={batch}; batch must be in 0..{self._len}")
        if batch == self._len:
            epoch, batch = epoch + 1, 0
        self.epoch, self._next_batch = epoch, batch

    # --- iteration --------------------------------------------------------------------------

    def __iter__(self):
        """Yield the rest of the current epoch, then move the position to the next epoch."""
        while self._next_batch < self._len:
            epoch, b = self.epoch, self._next_batch
            self._ensure_pipeline(epoch, b)
            try:
                out = next(self._iter)[0]
            except StopIteration:
                self.close()
                raise RuntimeError(
                    f"{self.shards.shard_dir}: the pipeline ended at batch {b} of {self._len} (epoch {epoch})"
                ) from None
            except Exception as e:
                error = self._explain(e, epoch, b)
                self.close()
                raise error from e
            self._pipe_pos = (epoch, b + 1)
            images, labels, positions = out["images"], out["labels"], out["positions"]
            last = b + 1 == self._len
            if last:
                self.epoch, self._next_batch = epoch + 1, 0
            else:
                self._next_batch = b + 1
            yield (images, labels, positions) if self.return_index else (images, labels)
            if last:
                return

    def _ensure_pipeline(self, epoch: int, batch: int) -> None:
        """Make the DALI iterator's next batch be ``batch`` of ``epoch``, rebuilding only if needed."""
        if self._iter is not None and self._pipe_pos is not None:
            if self._pipe_pos == (epoch, batch):
                return
            pe, pb = self._pipe_pos
            if pb == self._len and (epoch, batch) == (pe + 1, 0):
                # The previous epoch was consumed: its end (the source's StopIteration) is still
                # to be read, then a reset starts DALI's next epoch, which the source maps to ours.
                try:
                    next(self._iter)
                except StopIteration:
                    self._iter.reset()
                    self._pipe_pos = (epoch, 0)
                    return
                self.close()
                raise RuntimeError(f"{self.shards.shard_dir}: the pipeline ran past the end of epoch {pe}")
        self._build(epoch, batch)

    def _build(self, epoch: int, batch: int) -> None:
        from nvidia.dali.plugin.base_iterator import LastBatchPolicy
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        self.close()
        # Reading in this process (num_workers=0) needs one call per batch; reader processes
        # take one sample per task, which spreads a batch over all of them.
        kind = ShardBatchSource if self.num_workers == 0 else ShardSource
        source = kind(
            self.shards,
            self.plan,
            first_epoch=epoch,
            start_sample=batch * self.batch_size,
            augment=self.train,
        )
        pipe = shard_pipeline(
            source,
            batch_size=self.batch_size,
            mode="train" if self.train else "eval",
            size=self.size,
            device=self.device,
            device_id=self.device_id,
            fp16=self.fp16,
            num_threads=self.num_threads,
            py_num_workers=self.num_workers,
            py_start_method=self.start_method,
            prefetch=self.prefetch,
            area=self.area,
            ratio=self.ratio,
            eval_resize=self.eval_resize,
            roi_decode=self.roi_decode,
            seed=self.seed,
        )
        self._pipe = pipe
        self._iter = DALIGenericIterator(
            [pipe],
            ["images", "labels", "positions"],
            size=-1,
            auto_reset=False,
            last_batch_policy=LastBatchPolicy.FILL,
            prepare_first_batch=False,
        )
        self._pipe_pos = (epoch, batch)

    def close(self, _collect: bool = True) -> None:
        """Stop the DALI pipeline and its worker processes (iteration rebuilds them)."""
        it, pipe = self._iter, self._pipe
        self._iter = self._pipe = self._pipe_pos = None
        if pipe is not None:
            pool = getattr(pipe, "_py_pool", None)
            del it
            del pipe
            if _collect:
                gc.collect()  # the pipeline's C++ side goes when the last reference does
            if pool is not None:
                try:
                    pool.close()
                except Exception:
                    pass

    def __enter__(self) -> "ShardLoader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close(_collect=False)
        except Exception:
            pass

    # --- errors -----------------------------------------------------------------------------

    def _explain(self, error: BaseException, epoch: int, batch: int) -> Exception:
        """An error naming the shard and line of the sample that failed.

        Bad lines (base64, label, not an image) are caught in the reader, which names the line;
        its message survives the trip from the worker process and is raised again as it was.
        What only the decoder notices (a corrupt JPEG body) DALI reports without the sample, so
        the lines of the batches in flight are decoded again with Pillow to find the culprit.
        """
        text = _chain_text(error)
        paths = "|".join(re.escape(str(p)) for p in self.shards.paths)
        found = re.search(rf"(?:{paths}): line [^\n]*", text)
        if found:
            return InputError(found.group(0))
        said = _dali_reason(text)
        order = self.plan.rank_order(epoch)
        last_batch = min(batch + self.prefetch + 1, self._len)
        candidates = [int(g) for g in order[batch * self.batch_size : last_batch * self.batch_size]]
        bad = []
        fds: dict[int, int] = {}
        try:
            for gid in dict.fromkeys(candidates):
                path, line = self.shards.where(gid)
                try:
                    fd = fds.get(gid % self.shards.nranks)
                    if fd is None:
                        fd = fds[gid % self.shards.nranks] = os.open(path, os.O_RDONLY)
                    data, _ = self.shards.sample(fd, gid)
                    _pillow_decode(data)
                except Exception as e:  # a reader error or Pillow's: either names the culprit
                    bad.append(f"{path}: cannot decode line {line} ({_first_line(str(e))})")
        finally:
            for fd in fds.values():
                os.close(fd)
        if bad:
            return InputError(f"{'; '.join(bad)}; DALI: {said}")
        k = re.search(r"sample #(\d+)", text)
        if k and int(k.group(1)) < self.batch_size:
            # DALI names the index within the batch, not the batch: one line per batch in flight.
            candidates = candidates[int(k.group(1)) :: self.batch_size]
        lines = ", ".join(f"{p.name}:{line}" for p, line in sorted({self.shards.where(g) for g in candidates})[:64])
        return InputError(
            f"{self.shards.shard_dir}: the pipeline failed in epoch {epoch}, batch {batch} or one prefetched "
            f"after it, on one of lines {lines}; DALI: {said}"
        )


def _chain_text(error: BaseException) -> str:
    parts, seen, e = [], set(), error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(str(e))
        e = e.__cause__ or e.__context__
    return "\n".join(parts)


def _dali_reason(text: str) -> str:
    """The informative part of a DALI pipeline error (it opens with generic lines)."""
    operator = re.search(r"Error in \w+ operator `([^`]+)`", text)
    found = re.search(r"encountered:\s*\n\s*([^\n]+)", text)
    reason = found.group(1).strip(" :") if found else _first_line(text)
    return (f"{operator.group(1)}: " if operator else "") + reason[:300]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Traceback", "Exception traceback", "File ")):
            return line[:300]
    return text.strip()[:300]


def _pillow_decode(data: bytes) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Image.UnidentifiedImageError:
        raise ValueError("Pillow cannot read it either: not a valid image") from None
