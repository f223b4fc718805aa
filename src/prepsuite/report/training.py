"""Per-step training metrics for TensorBoard, and a stop at the first non-finite loss.

What a training loop on rank shards wants to see while it runs: the loss, images per second,
the learning rate, and above all the fraction of each step spent *waiting for data* — near 0
the loader keeps up, near 1 the model waits for the loader and a faster input pipeline (more
reader workers, GPU decoding) would speed training up, while a faster model would not. A grid of
the first batch's augmented images shows what the model is actually fed (crops, flips, colours
after normalisation undone).

Every rank writes its own run (``DIR/rank0``, ``DIR/rank1``, …), so TensorBoard overlays the
ranks and a rank whose loader lags stands out. torch's ``SummaryWriter`` writes the event
files; it needs the ``tensorboard`` package (the ``tensorboard`` extra), imported only when a
directory is given.

Used by ``examples/train_classifier.py``::

    monitor = TrainingMonitor(args.tensorboard, rank)
    for epoch in ...:
        monitor.start()
        for step, (images, labels) in enumerate(loader):
            monitor.batch_arrived()
            loss = loss_fn(model(images), labels)
            monitor.check_loss(loss, epoch, step)  # SystemExit naming rank and step if not finite
            ...backward, optimiser step...
            monitor.step_done(images, loss, lr)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class NonFiniteLoss(SystemExit):
    """A NaN or infinite loss: training stops (a SystemExit, so torchrun ends the other ranks),
    with the rank and step named."""


class TrainingMonitor:
    """Times each step, checks the loss, and writes scalars (and the first batch's images) to
    TensorBoard when ``log_dir`` is given; without one it only times and checks."""

    def __init__(self, log_dir: str | os.PathLike[str] | None, rank: int = 0,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.rank = rank
        self.step = 0  # global step: steps done by this rank, over all epochs
        self.mean, self.std = tuple(mean), tuple(std)
        self.writer: Any = None
        self.log_dir = Path(log_dir) / f"rank{rank}" if log_dir is not None else None
        if self.log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter  # needs the `tensorboard` package

            self.writer = SummaryWriter(log_dir=str(self.log_dir))
        self._mark = time.perf_counter()
        self._waited = 0.0
        self._images_logged = False
        self.last: dict[str, float] = {}

    def start(self) -> None:
        """Start of an epoch: waiting for the first batch counts from here."""
        self._mark = time.perf_counter()

    def batch_arrived(self) -> None:
        """The loader handed over a batch: the time since the last step ended was spent waiting."""
        self._waited = time.perf_counter() - self._mark

    def check_loss(self, loss: Any, epoch: int, step: int) -> float:
        """The loss as a float; a NaN or infinite one stops training with a message naming this
        rank, the epoch and the step (before the backward pass spreads NaN into the weights)."""
        value = float(loss.detach().float().item()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            self.close()
            raise NonFiniteLoss(
                f"[rank {self.rank}] non-finite loss ({value}) at epoch {epoch} step {step + 1} "
                f"(global step {self.step + 1}): training stopped. Rerun with --detect-anomaly to "
                "find the operation that produced it, or lower the learning rate")
        return value

    def step_done(self, images: Any, loss: float, lr: float) -> dict[str, float]:
        """Record a finished step: loss, images/s, fraction of the step spent waiting for data,
        learning rate; the first call also logs the batch's images as a grid."""
        now = time.perf_counter()
        seconds = max(now - self._mark, 1e-9)
        self._mark = now
        self.step += 1
        self.last = {"loss": float(loss), "images_per_s": images.shape[0] / seconds,
                     "data_wait_fraction": min(1.0, self._waited / seconds), "lr": float(lr),
                     "step_seconds": seconds}
        if self.writer is not None:
            for name, value in self.last.items():
                self.writer.add_scalar(f"train/{name}", value, self.step)
            if not self._images_logged:
                self.writer.add_images("train/first_batch", self.viewable(images), self.step)
                self._images_logged = True
        return self.last

    def viewable(self, images: Any) -> Any:
        """Normalised NCHW images back to [0, 1] RGB on the CPU, for TensorBoard (at most 64)."""
        import torch

        batch = images[:64].detach().float().cpu()
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (batch * std + mean).clamp(0.0, 1.0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None
