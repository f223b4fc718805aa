"""`examples/train_classifier.py` under a 2-process torchrun: both ranks run the same steps."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
pytest.importorskip("torch", reason="PyTorch is the optional extra `dali`")

REPO = Path(__file__).resolve().parents[1]


def test_two_ranks_train_the_same_number_of_steps(photos: Path, tmp_path: Path):
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(REPO / "examples" / "train_classifier.py"),
        "--photos", str(photos), "--work", str(tmp_path), "--epochs", "2", "--batch-size", "4",
        "--size", "32", "--workers", "1", "--device", "cpu",
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # 18 bundled photos → 2 shards of 9 lines → 3 batches of 4 (the last of 1) per epoch on each rank.
    summary = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("{")))
    assert summary == {"steps_per_rank": [6, 6], "equal": True}
    for rank in (0, 1):
        steps = re.findall(rf"\[rank {rank}\] epoch (\d) step (\d)/3 loss [0-9.]+ [0-9.]+ images/s", out)
        assert steps == [(e, s) for e in "01" for s in "123"], out[-4000:]
    assert "steps per rank: [6, 6] (equal)" in proc.stdout
