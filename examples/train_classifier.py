"""Train a small CNN on rank shards, fed by DALI — one process per rank under torchrun.

    torchrun --nproc_per_node 2 examples/train_classifier.py               # the photos bundled with prepsuite
    torchrun --nproc_per_node 2 examples/train_classifier.py --epochs 5 --checkpoint ckpt.pt
    torchrun --nproc_per_node 8 examples/train_classifier.py --shards results/shards-8

Without ``--shards``, rank 0 packs the photos bundled with prepsuite (``prepsuite.sample_photos()``,
its ``single_jpeg/`` folder: 18 CC0 photos) and shards
them for the job's world size (``prep pack`` + ``prep shard``), while the other ranks wait at a
barrier. Each rank then reads only its own shard through ``ShardLoader``; the process group is
gloo on the CPU and nccl on GPUs, where decoding runs on the GPU too. Every step logs the loss and
images/s; at the end the ranks exchange their step counts, which must be equal — the promise of
the shards (equal lengths) that keeps DDP's collectives from waiting for a rank with no data left.
With ``--tensorboard DIR`` each rank writes TensorBoard events (loss, images/s, the fraction of
each step spent waiting for data, learning rate, the first batch's images; docs/report.md). A
NaN or infinite loss stops training, naming the rank and step (``--detect-anomaly`` finds the
operation that produced it). With ``--checkpoint``, model, optimiser and loader state are saved after every epoch and a restart
continues from there (at the exact next batch when saved mid-epoch with ``--save-every``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

import prepsuite
from prepsuite.dali import ShardLoader
from prepsuite.report.training import TrainingMonitor

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shards", type=Path, help="shard directory written by `prep shard` for this world size")
    p.add_argument("--photos", type=Path, default=prepsuite.sample_photos(),
                   help="photos to shard when --shards is not given (uses its single_jpeg/ folder; "
                        "default: the photos bundled with prepsuite)")
    p.add_argument("--work", type=Path, default=REPO / "results" / "train_classifier",
                   help="where the packed photos and their shards go when --shards is not given")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=0, help="stop each epoch after this many steps (0: the whole epoch)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--size", type=int, default=96, help="training crop, pixels")
    p.add_argument("--num-classes", type=int, default=1000, help="the photos' labels are ImageNet class ids")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "mixed"], help="where DALI decodes")
    p.add_argument("--workers", type=int, default=2, help="reader processes per rank")
    p.add_argument("--checkpoint", type=Path, help="save here after every epoch; resume from it if present")
    p.add_argument("--save-every", type=int, default=0, help="also save every N steps (0: at epoch ends only)")
    p.add_argument("--tensorboard", type=Path, metavar="DIR",
                   help="write TensorBoard events to DIR/rank<R>: loss, images/s, fraction of each step spent "
                        "waiting for data, learning rate, and the first batch's images (needs the `tensorboard` extra)")
    p.add_argument("--detect-anomaly", action="store_true",
                   help="torch.autograd.detect_anomaly: name the operation whose backward pass gives NaN (slow)")
    return p.parse_args()


def log(msg: str) -> None:
    print(f"[rank {dist.get_rank()}] {msg}", flush=True)


def build_shards(args: argparse.Namespace, world: int) -> Path:
    """Rank 0 packs and shards the photos for this world size; the others wait for it."""
    shards = args.work / f"shards-{world}"
    if dist.get_rank() == 0 and not (shards / "manifest.json").is_file():
        from prepsuite.shards import pack_images, shard_dataset

        photos = args.photos / "single_jpeg"
        if not photos.is_dir():
            raise SystemExit(f"no photos at {photos}; pass --shards or --photos")
        packed = pack_images(photos, photos / "image_list.txt", args.work / "packed", overwrite=True)
        result = shard_dataset(packed.out_dir, nranks=world, out=shards, seed=args.seed, overwrite=True)
        log(f"sharded {result.n} photos into {world} shards of {result.per_rank_lines} lines ({result.padding} padding)")
    dist.barrier()
    return shards


def small_cnn(num_classes: int) -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(3, 16), *block(16, 32), *block(32, 64), *block(64, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes),
    )


def main() -> int:
    args = parse_args()
    gpu = torch.cuda.is_available() and args.device != "cpu"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if gpu:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if gpu else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts them)

    shards = args.shards or build_shards(args, world)
    # The three lines a user writes: rank and world size come from torchrun's environment.
    loader = ShardLoader(shards, args.batch_size, train=True, device=args.device if gpu else "cpu",
                         seed=args.seed, size=args.size, num_workers=args.workers)
    device = torch.device("cuda", local_rank) if gpu else torch.device("cpu")
    model = small_cnn(args.num_classes).to(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if gpu else None)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    if args.checkpoint and args.checkpoint.is_file():
        ckpt = torch.load(args.checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        loader.load_state_dict(ckpt["loader"])
        log(f"resumed from {args.checkpoint} at epoch {loader.epoch}, batch {loader.state_dict()['batch']}")

    def save() -> None:
        if rank == 0 and args.checkpoint:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "loader": loader.state_dict()}
            tmp = args.checkpoint.with_suffix(".tmp")
            torch.save(state, tmp)
            os.replace(tmp, args.checkpoint)

    # every step timed and its loss checked; with --tensorboard, written to DIR/rank<R>
    monitor = TrainingMonitor(args.tensorboard, rank)
    monitor.step = loader.epoch * len(loader) + loader.state_dict()["batch"]  # continues after a resume
    torch.autograd.set_detect_anomaly(args.detect_anomaly)
    log(f"{loader.n} samples, global batch {loader.global_batch}, {len(loader)} steps per epoch, "
        f"decoding on {loader.device}, backend {dist.get_backend()}")
    steps = images_seen = 0
    start = time.perf_counter()
    for epoch in range(loader.epoch, args.epochs):
        loader.set_epoch(epoch)
        monitor.start()
        first = loader.state_dict()["batch"]  # > 0 only right after resuming mid-epoch
        for step, (images, labels) in enumerate(loader, start=first):
            monitor.batch_arrived()
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            loss = loss_fn(ddp(images), labels)
            value = monitor.check_loss(loss, epoch, step)  # NaN/inf: stops here, naming rank and step
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done = monitor.step_done(images, value, opt.param_groups[0]["lr"])
            steps += 1
            images_seen += images.shape[0]
            log(f"epoch {epoch} step {step + 1}/{len(loader)} loss {value:.4f} "
                f"{done['images_per_s']:.1f} images/s, {100 * done['data_wait_fraction']:.0f}% waiting for data")
            if args.save_every and steps % args.save_every == 0:
                save()
            if args.steps and step + 1 >= args.steps:
                break
        save()
    elapsed = time.perf_counter() - start

    counts = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(world)]
    dist.all_gather(counts, torch.tensor([steps], dtype=torch.int64, device=device))
    counts = [int(c.item()) for c in counts]
    equal = len(set(counts)) == 1
    log(f"done: {steps} steps, {images_seen} images, {images_seen / elapsed:.1f} images/s overall")
    if rank == 0:
        print(json.dumps({"steps_per_rank": counts, "equal": equal}), flush=True)
        print(f"steps per rank: {counts} ({'equal' if equal else 'NOT EQUAL'})", flush=True)
    monitor.close()
    loader.close()
    dist.destroy_process_group()
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
