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
* **DALI** — ``ShardLoader`` with ``--readers`` reader processes (default: the loader's own, which
  reads in the main process when decoding on the CPU) and ``--threads`` DALI threads, decoding on
  ``--device`` (``auto``: the GPU when there is one);
* **native** — the ceiling: a plain DALI pipeline with DALI's own ``fn.readers.file`` over the
  same JPEG files (listed ``--repeat`` times, shuffled), the same crop rule decoded the same way
  (``fn.decoders.image_random_crop``: RandomResizedCrop with the same area and aspect ranges and
  10 tries, only the crop's region decoded), resize, flip, normalisation, the same ``--threads``,
  batch and prefetch, read through the same PyTorch iterator. It has no Python reader at all, so
  ``ShardLoader / native`` is what the base64 shard format and the world-size-independent
  randomness cost.

The baseline and ``ShardLoader`` visit the shard in the same order, so their first batches hold
the same samples with the same crops: the script prints how far the two images differ (a check
that the work is the same). The loaders take turns in ``--rounds`` rounds (all see the same load on
a shared machine); in each round a loader starts afresh, runs a warm-up epoch (reported apart)
and ``--epochs`` timed ones, and stops, so no pipeline prefetches while another is timed.
images/s comes from the median timed epoch, and ``ShardLoader / native`` is also given per round.
On a GPU machine the baseline's batches are copied to the GPU (pinned memory) as a training loop
would.

Run it alone (``flock /tmp/prepsuite-heavy.lock python benchmarks/loader.py``): the figures are
only meaningful when nothing else runs.
"""

from __future__ import annotations

import argparse
import gc
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

from machine import cpu_model
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


def shrink_photos(photos: Path, out: Path, max_side: int) -> Path:
    """Copies of the JPEGs with the longer side at most ``max_side`` (EXIF orientation applied),
    e.g. 500 for ImageNet's typical 500x375 photos."""
    for f in sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")):
        target = out / f.relative_to(photos)
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(f) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((max_side, max_side), Image.BICUBIC)
            im.save(target, "JPEG", quality=90)
    return out


def build_shard(photos: Path, work: Path, repeat: int) -> tuple[Path, int, Path]:
    """The shard, its sample count, and a ``fn.readers.file`` list of the same JPEGs."""
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not files:
        raise SystemExit(f"no JPEGs under {photos}")
    listing = work / "labels.txt"
    listing.write_text("".join(f"{f.relative_to(photos)} {i % 1000}\n" for _ in range(repeat) for i, f in enumerate(files)))
    packed = pack_images(photos, listing, work / "packed", part_lines=256)
    result = shard_dataset(packed.out_dir, nranks=1, out=work / "shard", seed=0)
    file_list = work / "file_list.txt"
    file_list.write_text("".join(f"{f} {i % 1000}\n" for _ in range(repeat) for i, f in enumerate(files)))
    return result.out, result.n, file_list


def native_loader(file_list: Path, args: argparse.Namespace, device: str, steps: int):
    """DALI's own reader and RandomResizedCrop over the JPEG files: one epoch per call."""
    from nvidia.dali import fn, pipeline_def, types
    from nvidia.dali.plugin.base_iterator import LastBatchPolicy
    from nvidia.dali.plugin.pytorch import DALIGenericIterator

    gpu = device == "mixed"

    @pipeline_def(batch_size=args.batch_size, num_threads=args.threads, device_id=0 if gpu else None,
                  seed=args.seed, prefetch_queue_depth=2)
    def native():
        jpegs, labels = fn.readers.file(file_list=str(file_list), random_shuffle=True, pad_last_batch=True,
                                        name="files", seed=args.seed)
        images = fn.decoders.image_random_crop(jpegs, device=device, output_type=types.RGB,
                                               random_area=[0.08, 1.0], random_aspect_ratio=[3 / 4, 4 / 3],
                                               num_attempts=10)
        images = fn.resize(images, size=[args.size, args.size], antialias=True)
        images = fn.crop_mirror_normalize(images, mirror=fn.random.coin_flip(), dtype=types.FLOAT,
                                          output_layout="CHW", mean=[255 * m for m in IMAGENET_MEAN],
                                          std=[255 * s for s in IMAGENET_STD])
        return images, labels.gpu() if gpu else labels

    state: dict = {}

    def epoch(_: int):
        if "it" not in state:  # built at the start of each round (its first epoch is warm-up)
            state["pipe"] = native()
            state["it"] = DALIGenericIterator([state["pipe"]], ["images", "labels"], reader_name="files",
                                              auto_reset=True, last_batch_policy=LastBatchPolicy.FILL)
        for k, batch in enumerate(state["it"]):
            yield batch[0]["images"]
            if k + 1 == steps:  # the same number of batches as ShardLoader's epoch
                return

    def end_round() -> None:
        state.clear()  # the pipeline and its threads go: no prefetching into the others' timing
        gc.collect()

    return epoch, end_round


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and all its children: DALI's threads and reader
    processes, the DataLoader's workers. On a shared machine the CPU time a loader needs per
    image varies far less than its wall-clock speed, which other jobs' load changes."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # a worker that just exited
            pass
    return total


def timed_epoch(batches, sync) -> tuple[float, float, int, torch.Tensor]:
    """Seconds, CPU seconds and images of one epoch, and its first batch (for the same-work check)."""
    start, cpu, images, first = time.perf_counter(), cpu_seconds(), 0, None
    for x in batches:
        if first is None:
            first = x.float().cpu().clone()
        images += x.shape[0]
    sync()
    return time.perf_counter() - start, cpu_seconds() - cpu, images, first


def machine() -> str:
    cpu = cpu_model()
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
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--readers", type=int, default=None,
                   help="ShardLoader reader processes (default: the loader's: 0 decoding on the CPU, else up to 4)")
    p.add_argument("--threads", type=int, default=2, help="DALI decoding/augmentation threads")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "mixed"], help="where DALI decodes")
    p.add_argument("--full-decode", action="store_true", help="DALI decodes whole images, not just the crop's region")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per loader and round (after a warm-up epoch)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; each starts every loader afresh")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmp", type=Path, default=None, help="where to build the shard (default: a temp dir)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--max-side", type=int, default=0,
                   help="first shrink the photos to this longer side (500: ImageNet's typical size); 0: as they are")
    p.add_argument("--no-baseline", action="store_true", help="skip the DataLoader + Pillow baseline (ShardLoader vs native only)")
    args = p.parse_args()
    if args.epochs < 1 or args.rounds < 1:
        raise SystemExit("--epochs and --rounds must be >= 1")

    work = Path(tempfile.mkdtemp(prefix="bench-loader-", dir=args.tmp))
    try:
        photos = shrink_photos(args.photos, work / "photos", args.max_side) if args.max_side else args.photos
        shard_dir, n, file_list = build_shard(photos, work, args.repeat)
        dali = ShardLoader(shard_dir, args.batch_size, rank=0, nranks=1, device=args.device, seed=args.seed,
                           size=args.size, num_workers=args.readers, num_threads=args.threads,
                           roi_decode=not args.full_decode)
        gpu = dali.device == "mixed"
        sync = torch.cuda.synchronize if gpu else (lambda: None)
        print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
        print(f"shard: {n} images ({args.repeat} x the photos), batch {args.batch_size}, crop {args.size}, "
              f"{args.workers} DataLoader workers, {dali.num_workers} ShardLoader reader processes (0: in the main process), "
              f"{args.threads} DALI threads, DALI decoding on {dali.device}"
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

        # Rounds alternate between the loaders, so that all see the same machine load (this
        # machine is shared). In each round a loader starts (its pipeline built, workers started),
        # runs a warm-up epoch and --epochs timed ones, and stops, so that no pipeline prefetches
        # while another is timed. images/s comes from the median timed epoch of each.
        native_name = f"native DALI ({dali.device})"
        runs = {"DataLoader + Pillow": (baseline_epoch, lambda: None),
                f"DALI ({dali.device})": (dali_epoch, dali.close),
                native_name: native_loader(file_list, args, dali.device, len(dali))}
        if args.no_baseline:
            del runs["DataLoader + Pillow"]
        results: dict = {name: {"seconds": [], "cpu": [], "warmup": [], "first": None, "images": 0} for name in runs}
        for rnd in range(args.rounds):
            for name, (run, end_round) in runs.items():
                r = results[name]
                for epoch in range(args.epochs + 1):
                    seconds, cpu, images, first = timed_epoch(run(rnd * (args.epochs + 1) + epoch), sync)
                    (r["warmup"] if epoch == 0 else r["seconds"]).append(seconds)
                    if epoch:
                        r["cpu"].append(cpu)
                    r["images"] = images
                    if r["first"] is None:
                        r["first"] = first
                end_round()
        for name, r in results.items():
            timed = sorted(r["seconds"])
            r["images_per_s"] = r["images"] / timed[len(timed) // 2]
            r["cpu_ms"] = 1000 * float(np.median(r["cpu"])) / r["images"]
            print(f"{name:24s} {r['images_per_s']:8.1f} images/s   (median of {len(timed)} epochs in {args.rounds} "
                  f"rounds; {r['cpu_ms']:.1f} CPU-ms per image; epochs: {', '.join(f'{x:.2f}' for x in r['seconds'])} s; warm-up: "
                  f"{', '.join(f'{x:.2f}' for x in r['warmup'])} s)", flush=True)
        d, native = results[f"DALI ({dali.device})"], results[native_name]
        summary = {"machine": machine(), "images": n, "device": dali.device, "workers": args.workers, "readers": dali.num_workers,
                   "threads": args.threads, "roi_decode": not args.full_decode, "batch_size": args.batch_size,
                   "size": args.size, "max_side": args.max_side, "dali_images_per_s": round(d["images_per_s"], 1),
                   "native_images_per_s": round(native["images_per_s"], 1)}
        if not args.no_baseline:
            b = results["DataLoader + Pillow"]
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255
            levels = ((b["first"] - d["first"]) * std).abs().mean().item()
            ratio = d["images_per_s"] / b["images_per_s"]
            print(f"same work: first batches differ by {levels:.2f} pixel levels on average (0..255)")
            print(f"ratio DALI / DataLoader: {ratio:.2f}x")
            summary.update(dataloader_images_per_s=round(b["images_per_s"], 1), ratio=round(ratio, 2),
                           mean_abs_diff_levels=round(levels, 3))
        # Per round too: both ran in the same round, so a round's ratio is the fairest pairing.
        e = args.epochs
        rounds = [float(np.median(native["seconds"][k * e:(k + 1) * e]) / np.median(d["seconds"][k * e:(k + 1) * e]))
                  for k in range(args.rounds)]
        vs_native = d["images_per_s"] / native["images_per_s"]
        print(f"ratio ShardLoader / native DALI reader: {vs_native:.2f}x "
              f"(rounds: {', '.join(f'{r:.2f}' for r in rounds)})")
        cpu_ratio = native["cpu_ms"] / d["cpu_ms"]
        print(f"ratio in CPU time per image, native / ShardLoader: {cpu_ratio:.2f}x "
              f"({d['cpu_ms']:.1f} vs {native['cpu_ms']:.1f} CPU-ms per image)")
        summary.update(vs_native=round(vs_native, 3), vs_native_rounds=[round(r, 3) for r in rounds],
                       dali_cpu_ms_per_image=round(d["cpu_ms"], 2), native_cpu_ms_per_image=round(native["cpu_ms"], 2),
                       vs_native_cpu=round(cpu_ratio, 3))
        print(json.dumps(summary))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
