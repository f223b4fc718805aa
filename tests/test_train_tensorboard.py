"""`torchrun --nproc_per_node 2 examples/train_classifier.py --epochs 1 --tensorboard tb`: event
files with the loss, images/s, data-wait fraction and learning rate, read back with
TensorBoard's own reader; a non-finite loss stops training naming the step and the rank."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
pytest.importorskip("torch", reason="PyTorch is the optional extra `dali`")
pytest.importorskip("tensorboard", reason="tensorboard is the optional extra `tensorboard`")

REPO = Path(__file__).resolve().parents[1]
SCALARS = {"train/loss", "train/images_per_s", "train/data_wait_fraction", "train/lr"}


def train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "examples" / "train_classifier.py"), "--work", str(tmp_path / "work"),
           "--batch-size", "4", "--size", "32", "--workers", "1", "--device", "cpu", *args]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def events(run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_tensorboard_scalars_and_first_batch_images_per_rank(tmp_path):
    proc = train(tmp_path, "--epochs", "1", "--tensorboard", "tb")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    for rank in (0, 1):
        run = events(tmp_path / "tb" / f"rank{rank}")
        assert SCALARS <= set(run.Tags()["scalars"])
        steps = [e.step for e in run.Scalars("train/loss")]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 2  # one point per step
        assert all(0.0 <= e.value <= 1.0 for e in run.Scalars("train/data_wait_fraction"))
        assert all(e.value > 0 for e in run.Scalars("train/images_per_s"))
        assert [e.value for e in run.Scalars("train/lr")] == pytest.approx([0.05] * len(steps))
        grid = run.Images("train/first_batch")
        assert len(grid) == 1 and grid[0].step == 1 and grid[0].width > 32  # several images side by side


def test_non_finite_loss_stops_training_naming_step_and_rank(tmp_path):
    # a NaN learning rate turns every weight into NaN at the first step: the second step's loss is NaN
    proc = train(tmp_path, "--epochs", "1", "--lr", "nan", "--detect-anomaly")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "non-finite loss (nan) at epoch 0 step 2" in out and "[rank " in out, out[-4000:]
    assert "epoch 0 step 3/" not in out  # nothing trained after it
