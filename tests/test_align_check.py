"""`examples/align_check.py`: 1 process x G and 2 processes x G/2 train to the same weights."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
pytest.importorskip("torch", reason="PyTorch is the optional extra `dali`")

REPO = Path(__file__).resolve().parents[1]


def test_one_and_two_processes_reach_the_same_weights_across_epoch_boundaries(tmp_path: Path):
    cmd = [sys.executable, str(REPO / "examples" / "align_check.py"), "--nproc", "2", "--steps", "10",
           "--work", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # 18 photos, global batch 8: 3 steps per epoch, so 10 steps run in 4 epochs.
    assert '"world": 2, "steps": 10, "epochs_touched": 4, "steps_per_epoch": 3' in out
    moved = float(re.search(r"moved the weights by up to ([0-9.e-]+)", out).group(1))
    diff = float(re.search(r"1 x 8 vs 2 x 4: max \|weight difference\| = ([0-9.e-]+) \(ok", out).group(1))
    assert moved > 100 * 5e-4 and diff <= 5e-4, out  # training moved far; the two runs did not part
