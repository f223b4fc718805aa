"""Benchmark of the DALI ``ShardLoader`` against a PyTorch ``DataLoader`` on the same shard.

Packs the shared photos (``../shared/data/photos``: 72 JPEGs, most 1280 pixels wide, every
chroma subsampling, EXIF orientations; where that folder is missing, the 42 bundled with the
package, ``prepsuite.sample_photos()``, which give other figures) ``--repeat`` times and shards them for one rank, then
reads that shard for ``--epochs`` epochs with:

* **baseline** — ``torch.utils.data.DataLoader`` with ``--workers`` worker processes over a
  dataset that reads a line by offset, base64-decodes it, opens it with Pillow (EXIF orientation
  applied) and applies the same training augmentation: the crop window and flip the DALI loader
  uses for that sample (``prepsuite.dali.crop_window``), resized to ``--size`` with Pillow's
  bilinear filter, normalised to float CHW with the ImageNet mean/std;
* **DALI** — ``ShardLoader`` with ``--workers`` reader processes and ``--threads`` DALI threads,
  decoding on ``--device`` (``auto``: the GPU when there is one).

Both visit the shard in the same order, so their first batches hold the same samples with the same
crops: the script prints how far the two images differ (a check that the work is the same). The
first epoch includes starting the workers/pipeline and is reported apart; the epochs of the two
alternate (both see the same load on a shared machine) and images/s comes from the median epoch. On a GPU machine the baseline's batches are copied to the GPU (pinned memory)
as a training loop would.

Run it alone (``flock /tmp/prepsuite-heavy.lock python benchmarks/loader.py``): the figures are
only meaningful when nothing else runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

import prepsuite
from prepsuite.dali import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ShardLoader,
    EpochPlan,
    augmentation_numbers,
    crop_window,
    open_shards,
)
from prepsuite.shards import pack_images, shard_dataset

REPO = Path(__file__).resolve().parents[1]


class PillowShard(torch.utils.data.Dataset):
    """The baseline: one shard line → Pillow decode → the DALI loader's crop, flip, normalisation."""

    def __init__(self, shard_dir: Path, size: int, seed: int) -> None:
        self.shards = open_shards(shard_dir)
        self.size, self.seed, self.epoch = size, seed, 0
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1) * 255
        self._fd: int | None = None

    def __len__(self) -> int:
        return self.shards.n

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        epoch, gid = key
        if self._fd is None:
            self._fd = os.open(self.shards.paths[0], os.O_RDONLY)  # one rank file: id = line
        data, label = self.shards.sample(self._fd, gid)
        with Image.open(io.BytesIO(data)) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
        y0, x0, y1, x1, flip = crop_window(im.height, im.width, augmentation_numbers(self.seed, epoch, gid))
        im = im.resize((self.size, self.size), Image.BILINEAR, box=(x0, y0, x1, y1))
        if flip:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float()
        return (x - self.mean) / self.std, label


class EpochOrder(torch.utils.data.Sampler):
    """The DALI loader's order (its :class:`EpochPlan` for one rank), yielding (epoch, global id)."""

    def __init__(self, plan: EpochPlan) -> None:
        self.plan, self.epoch = plan, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.plan.steps * self.plan.batch_size

    def __iter__(self):
        return ((self.epoch, int(g)) for g in self.plan.rank_order(self.epoch))


def build_shard(photos: Path, work: Path, repeat: int) -> tuple[Path, int]:
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not files:
        raise SystemExit(f"no JPEGs under {photos}")
    listing = work / "labels.txt"
    listing.write_text("".join(f"{f.relative_to(photos)} {i % 1000}\n" for _ in range(repeat) for i, f in enumerate(files)))
    packed = pack_images(photos, listing, work / "packed", part_lines=256)
    result = shard_dataset(packed.out_dir, nranks=1, out=work / "shard", seed=0)
    return result.out, result.n


def timed_epoch(batches, sync) -> tuple[float, int, torch.Tensor]:
    """Seconds and images of one epoch, and its first batch (for the same-work check)."""
    start, images, first = time.perf_counter(), 0, None
    for x in batches:
        if first is None:
            first = x.float().cpu().clone()
        images += x.shape[0]
    sync()
    return time.perf_counter() - start, images, first


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = REPO.parent / "shared" / "data" / "photos"
    p.add_argument("--photos", type=Path, default=shared if shared.is_dir() else prepsuite.sample_photos(),
                   help="folder of JPEGs (searched recursively); default: ../shared/data/photos, else the bundled ones")
    p.add_argument("--repeat", type=int, default=8, help="copies of the photos in the shard")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers = DALI reader processes")
    p.add_argument("--threads", type=int, default=2, help="DALI decoding/augmentation threads")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "mixed"], help="where DALI decodes")
    p.add_argument("--full-decode", action="store_true", help="DALI decodes whole images, not just the crop's region")
    p.add_argument("--epochs", type=int, default=5, help="epochs per loader; the first one is warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmp", type=Path, default=None, help="where to build the shard (default: a temp dir)")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if args.epochs < 2:
        raise SystemExit("--epochs must be >= 2 (the first is warm-up)")

    work = Path(tempfile.mkdtemp(prefix="bench-loader-", dir=args.tmp))
    try:
        shard_dir, n = build_shard(args.photos, work, args.repeat)
        dali = ShardLoader(shard_dir, args.batch_size, rank=0, nranks=1, device=args.device, seed=args.seed,
                           size=args.size, num_workers=args.workers, num_threads=args.threads,
                           roi_decode=not args.full_decode)
        gpu = dali.device == "mixed"
        sync = torch.cuda.synchronize if gpu else (lambda: None)
        print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
        print(f"shard: {n} images ({args.repeat} x the photos), batch {args.batch_size}, crop {args.size}, "
              f"{args.workers} workers, {args.threads} DALI threads, DALI decoding on {dali.device}"
              f" ({'whole images' if args.full_decode else 'crop regions only'})", flush=True)

        dataset = PillowShard(shard_dir, args.size, args.seed)
        sampler = EpochOrder(dali.plan)
        baseline = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                                               num_workers=args.workers, persistent_workers=True, pin_memory=gpu)

        def baseline_epoch(epoch: int):
            sampler.set_epoch(epoch)
            for x, _ in baseline:
                yield x.cuda(non_blocking=True) if gpu else x

        def dali_epoch(epoch: int):
            dali.set_epoch(epoch)
            for x, _ in dali:
                yield x

        # Epochs alternate between the two loaders, so that both see the same machine load
        # (this machine is shared); images/s is taken from the median epoch time of each.
        runs = {"DataLoader + Pillow": baseline_epoch, f"DALI ({dali.device})": dali_epoch}
        results = {name: {"seconds": [], "first": None, "images": 0} for name in runs}
        for epoch in range(args.epochs):
            for name, run in runs.items():
                seconds, images, first = timed_epoch(run(epoch), sync)
                r = results[name]
                r["seconds"].append(seconds)
                r["images"] = images
                if epoch == 0:
                    r["first"] = first
        for name, r in results.items():
            timed = sorted(r["seconds"][1:])
            r["images_per_s"] = r["images"] / timed[len(timed) // 2]
            print(f"{name:22s} {r['images_per_s']:8.1f} images/s   (median of {len(timed)} epochs; first epoch, "
                  f"with start-up: {r['seconds'][0]:.2f} s; epochs: {', '.join(f'{x:.2f}' for x in r['seconds'])} s)",
                  flush=True)
        dali.close()
        (b_name, b), (d_name, d) = results.items()
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255
        levels = ((b["first"] - d["first"]) * std).abs().mean().item()
        ratio = d["images_per_s"] / b["images_per_s"]
        print(f"same work: first batches differ by {levels:.2f} pixel levels on average (0..255)")
        print(f"ratio DALI / DataLoader: {ratio:.2f}x")
        print(json.dumps({"machine": machine(), "images": n, "device": dali.device, "workers": args.workers,
                          "threads": args.threads, "roi_decode": not args.full_decode, "batch_size": args.batch_size, "size": args.size,
                          "dataloader_images_per_s": round(b["images_per_s"], 1),
                          "dali_images_per_s": round(d["images_per_s"], 1), "ratio": round(ratio, 2),
                          "mean_abs_diff_levels": round(levels, 3)}))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
