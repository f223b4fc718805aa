"""Gradient alignment: 1 process x global batch G trains to the same weights as M processes x G/M.

    python examples/align_check.py                       # 1 vs 2 and 1 vs 4 processes, 12 steps
    python examples/align_check.py --nproc 2 --steps 10  # what tests/test_align_check.py runs

The classic check that data-parallel training is set up right: from the same initial weights,
train ``--steps`` SGD steps once in one process with the global batch ``G`` and once under
``torchrun --nproc_per_node M`` with ``G / M`` per process (gloo, DDP averaging the gradients, the
loss a per-sample mean), then compare the weights. They agree — to float rounding, the order of
the all-reduce's additions — only when the runs see the same global batches in the same order
with the same augmentation of every sample: exactly what ``ShardLoader`` promises for any world
size (``docs/loader.md``, "Same batches for any world size"). No learning-rate change is needed,
because DDP averages the per-process mean gradients into the global batch's mean gradient.

The model is a small CNN without batch statistics or dropout (BatchNorm would normalise over the
per-process batch, which differs by design). The photos bundled with prepsuite are packed and
sharded once for ``--shard-ranks`` ranks, whatever ``M``: the loader splits at load time. With 18
photos and ``G = 8`` an epoch is 3 steps, so ``--steps 12`` crosses three epoch boundaries.

Prints the largest absolute weight difference for each pair (and how far training moved the
weights, to show the difference is small for a reason) and exits 1 if any exceeds
``--tolerance`` (5e-4).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

import prepsuite


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nproc", default="2,4", help="process counts to compare with 1, comma-separated")
    p.add_argument("--steps", type=int, default=12, help="SGD steps (>= 10)")
    p.add_argument("--global-batch", type=int, default=8, help="G: samples per step over all processes")
    p.add_argument("--size", type=int, default=32, help="training crop, pixels")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-ranks", type=int, default=4, help="ranks the shards are written for")
    p.add_argument("--tolerance", type=float, default=5e-4, help="largest weight difference accepted")
    p.add_argument("--photos", type=Path, default=prepsuite.sample_photos() / "single_jpeg",
                   help="a folder of JPEGs with image_list.txt (default: the bundled photos)")
    p.add_argument("--work", type=Path, help="working directory (default: a temporary one)")
    # Internal: the worker run by torchrun.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--shards", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--init", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def model(num_classes: int = 1000) -> nn.Module:
    """Convolutions and a linear head; no BatchNorm, no dropout: nothing depends on the local batch."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes),
    )


def worker(args: argparse.Namespace) -> int:
    """One process of a run: DDP over gloo, ShardLoader with G / world per process."""
    import torch.distributed as dist

    from prepsuite.dali import ShardLoader

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.global_batch % world:
        raise SystemExit(f"global batch {args.global_batch} is not divisible by {world} processes")
    net = model()
    net.load_state_dict(torch.load(args.init, weights_only=True))
    ddp = nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()  # the mean over this process's samples; DDP averages the means
    loader = ShardLoader(args.shards, args.global_batch // world, device="cpu", seed=args.seed, size=args.size,
                         num_workers=1, num_threads=1, prefetch=1)
    steps, epoch = 0, 0
    while steps < args.steps:
        loader.set_epoch(epoch)
        for images, labels in loader:
            opt.zero_grad()
            loss_fn(ddp(images), labels).backward()
            opt.step()
            steps += 1
            if steps == args.steps:
                break
        epoch += 1
    loader.close()
    if rank == 0:
        torch.save(net.state_dict(), args.out)
        print(json.dumps({"world": world, "steps": steps, "epochs_touched": epoch, "steps_per_epoch": len(loader)}))
    dist.destroy_process_group()
    return 0


def torchrun(nproc: int, args: argparse.Namespace, shards: Path, init: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           str(Path(__file__).resolve()), "--worker", "--shards", str(shards), "--init", str(init), "--out", str(out),
           "--steps", str(args.steps), "--global-batch", str(args.global_batch), "--size", str(args.size),
           "--lr", str(args.lr), "--seed", str(args.seed)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"align_check: the {nproc}-process run failed (exit {proc.returncode})")
    print(f"  {nproc} x {args.global_batch // nproc}: {proc.stdout.strip().splitlines()[-1]}", flush=True)


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    if args.steps < 10:
        raise SystemExit("--steps must be >= 10")
    counts = [int(x) for x in args.nproc.split(",") if x.strip()]
    from prepsuite.shards import pack_images, shard_dataset

    with tempfile.TemporaryDirectory(prefix="align-check-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        packed = pack_images(args.photos, args.photos / "image_list.txt", work / "packed", overwrite=True)
        shards = shard_dataset(packed.out_dir, nranks=args.shard_ranks, out=work / "shards", seed=args.seed,
                               overwrite=True).out
        torch.manual_seed(args.seed)
        init = work / "init.pt"
        torch.save(model().state_dict(), init)
        print(f"align_check: {args.steps} steps, global batch {args.global_batch}, shards written for "
              f"{args.shard_ranks} ranks; runs:", flush=True)
        weights = {}
        for nproc in [1, *counts]:
            out = work / f"weights-{nproc}.pt"
            torchrun(nproc, args, shards, init, out)
            weights[nproc] = torch.load(out, weights_only=True)
        moved = max_diff(weights[1], torch.load(init, weights_only=True))
        print(f"training moved the weights by up to {moved:.3g}")
        worst = 0.0
        for nproc in counts:
            d = max_diff(weights[1], weights[nproc])
            worst = max(worst, d)
            print(f"1 x {args.global_batch} vs {nproc} x {args.global_batch // nproc}: max |weight difference| = {d:.3g}"
                  f" ({'ok' if d <= args.tolerance else 'ABOVE'} the tolerance {args.tolerance:g})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
