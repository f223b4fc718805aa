"""DALI loaders: a user's session with `from prepsuite.dali import ShardLoader`.

The shards of the real photos are built the way a user builds them (pack_images, then
shard_dataset); the loader's bookkeeping (epochs, resume, rank lengths, bad lines) is also
checked on small generated JPEGs so that it runs in a second. Everything here runs on the CPU;
the GPU (``mixed``) cases run only where a CUDA device is present.
"""

from __future__ import annotations

import base64
import os
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
torch = pytest.importorskip("torch", reason="PyTorch is the optional extra `dali`")

from PIL import Image, ImageOps  # noqa: E402

from prepsuite.dali import (  # noqa: E402
    ShardLoader,
    augmentation_numbers,
    crop_window,
    cuda_device_count,
    EpochPlan,
    open_shards,
    shard_pipeline,
)
from prepsuite.dali.source import ShardSource  # noqa: E402
from prepsuite.textio import InputError  # noqa: E402

GPU = cuda_device_count() > 0
FAST = dict(device="cpu", size=32, num_workers=1, num_threads=2, prefetch=1)


# --- shards of generated images (no photos needed) --------------------------------------------


def jpeg(seed: int, w: int, h: int, subsampling: int = 2) -> bytes:
    """A small JPEG with smooth gradients (decoders agree on those), different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b, c = rng.uniform(0.2, 1.0, 3)
    img = np.stack([x / w * 255 * a, y / h * 255 * b, (x + y) / (w + h) * 255 * c], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(img.astype(np.uint8)).save(buf, "JPEG", quality=90, subsampling=subsampling)
    return buf.getvalue()


def write_shard_dir(out: Path, ranks: list[list[bytes]], labels: list[list[int]] | None = None) -> Path:
    """A shard directory in `prep shard`'s layout from raw line payloads (base64 part), rank by rank.

    Used to place bad lines where the real `prep shard` (which rejects them) never would.
    """
    out.mkdir(parents=True)
    nranks = len(ranks)
    con = sqlite3.connect(out / "index.db")
    con.execute(
        "CREATE TABLE lines (rank INTEGER, position INTEGER, shard_offset INTEGER, length INTEGER, "
        "source_file TEXT, source_line INTEGER, source_offset INTEGER, label INTEGER, "
        "is_padding INTEGER, PRIMARY KEY (rank, position))"
    )
    entries = []
    for r, payloads in enumerate(ranks):
        name = f"rank-{r:05d}-of-{nranks:05d}.b64"
        data, offset = bytearray(), 0
        for pos, payload in enumerate(payloads):
            label = labels[r][pos] if labels else 100 * r + pos
            line = payload + b"\t" + str(label).encode()
            con.execute(
                "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r, pos, offset, len(line), "part-00000.b64", pos + 1, 0, label, 0),
            )
            data += line + b"\n"
            offset += len(line) + 1
        (out / name).write_bytes(data)
        entries.append(
            {"rank": r, "file": name, "lines": len(payloads), "real": len(payloads), "padding": 0,
             "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        )
    con.commit()
    con.close()
    manifest = {"format_version": 1, "n": sum(len(p) for p in ranks), "nranks": nranks, "seed": 0,
                "per_rank_lines": len(ranks[0]), "padding": 0, "ranks": entries}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


@pytest.fixture(scope="module")
def small_shards(tmp_path_factory) -> Path:
    """2 ranks × 23 generated JPEGs of assorted sizes: 23 is prime, so batches never divide it."""
    ranks = [[b64(jpeg(100 * r + i, 40 + 3 * i, 30 + 2 * i)) for i in range(23)] for r in range(2)]
    return write_shard_dir(tmp_path_factory.mktemp("dali") / "small", ranks)


def run_epoch(loader: ShardLoader):
    """All batches of the loader's current epoch: (images, labels, positions) per batch."""
    return [(im.clone(), lab.clone(), pos.clone()) for im, lab, pos in loader]


# --- shards of the real photos, built as a user builds them ----------------------------------


@pytest.fixture(scope="module")
def photo_shards(photos: Path, tmp_path_factory):
    """All the bundled photos (every subfolder: 42) packed and sharded for 2 ranks.

    Returns the shard directory and {sha256 of the image bytes: original file}.
    """
    from prepsuite.shards import pack_images, shard_dataset

    work = tmp_path_factory.mktemp("dali-photos")
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    labels = {}
    for line in (photos / "single_jpeg" / "image_list.txt").read_text().split("\n"):
        if line.strip():
            rel, label = line.rsplit(None, 1)
            labels[f"single_jpeg/{rel}"] = int(label)
    listing = work / "labels.txt"
    listing.write_text(
        "".join(f"{f.relative_to(photos)} {labels.get(str(f.relative_to(photos)), 900 + i)}\n" for i, f in enumerate(files))
    )
    pack_images(photos, listing, work / "packed", part_lines=16)
    shard_dataset(work / "packed", nranks=2, out=work / "shards", seed=0)
    by_hash = {hashlib.sha256(f.read_bytes()).hexdigest(): f for f in files}
    return work / "shards", by_hash


def index_labels(shard_dir: Path) -> dict[int, int]:
    """{global id: label} from index.db: global id = position * nranks + rank."""
    con = sqlite3.connect(shard_dir / "index.db")
    try:
        nranks = con.execute("SELECT MAX(rank) + 1 FROM lines").fetchone()[0]
        rows = con.execute("SELECT rank, position, label FROM lines").fetchall()
    finally:
        con.close()
    return {p * nranks + r: label for r, p, label in rows}


def pillow_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


ON_GPU = pytest.mark.skipif(not GPU, reason="no CUDA device: the mixed (GPU) decoder cannot run here")


@pytest.mark.parametrize("device", ["cpu", pytest.param("mixed", marks=ON_GPU)])
@pytest.mark.parametrize("rank", [0, 1])
def test_photos_decode_like_pillow_with_index_labels(photo_shards, rank, device):
    """Every photo (odd sizes, all chroma subsamplings, EXIF orientations) decodes, matches Pillow.

    On the CPU DALI decodes with libjpeg-turbo, as Pillow does: within 2 levels (0 in practice).
    The GPU decoder is another implementation: on an H200 (DALI 2.4.0) the photos differed from
    Pillow by 0.18-2.2 levels on average, with up to 37 at the 99.9th percentile, at a few pixels
    (README, "Feeding training"); the bounds below leave room above those figures.
    """
    shard_dir, by_hash = photo_shards
    shards = open_shards(shard_dir)
    batch = 12
    plan = EpochPlan(shards.n, shards.nranks, shards.per_rank, rank, 2, batch)
    source = ShardSource(shards, plan, first_epoch=0, start_sample=0, augment=False)
    pipe = shard_pipeline(source, batch_size=batch, mode="decode", device=device, py_num_workers=1)
    pipe.build()
    labels_of = index_labels(shard_dir)
    seen, off = [], []
    fds = [os.open(p, os.O_RDONLY) for p in shards.paths]
    try:
        while True:
            try:
                images, labels, positions = pipe.run()
            except StopIteration:
                break
            if device == "mixed":
                images, labels = images.as_cpu(), labels.as_cpu()
            for i in range(batch):
                pos = int(np.asarray(positions.at(i)))
                got = np.asarray(images.at(i))
                data, _ = shards.sample(fds[pos % shards.nranks], pos)
                original = by_hash[hashlib.sha256(data).hexdigest()]
                want = pillow_rgb(original)
                assert got.dtype == np.uint8 and got.shape == want.shape, original.name
                diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
                mean, p999 = diff.mean(), np.percentile(diff, 99.9)
                if device == "cpu" and diff.max() > 2:
                    off.append(f"{original.name}: differs from Pillow by up to {diff.max()}")
                if device == "mixed" and (mean > 3 or p999 > 48):
                    off.append(f"{original.name}: differs from Pillow by {mean:.2f} on average, {p999:.0f} at p99.9")
                assert int(np.asarray(labels.at(i))) == labels_of[pos]
                seen.append(pos)
    finally:
        for fd in fds:
            os.close(fd)
        del pipe
    assert not off, "; ".join(off)
    # This rank's share of epoch 0 of the global order, by global id.
    assert seen == plan.rank_order(0).tolist()


def test_loader_on_photos_shapes_labels_and_coverage(photo_shards):
    shard_dir, _ = photo_shards
    loaders = [ShardLoader(shard_dir, 10, rank=r, nranks=2, device="cpu", size=64, return_index=True, num_workers=2)
               for r in range(2)]
    n = loaders[0].n
    assert [len(l) for l in loaders] == [-(-n // 20)] * 2 and n == 42  # 42 photos
    labels_of = index_labels(shard_dir)
    batches = run_epoch(loaders[0]) + run_epoch(loaders[1])
    assert [b[0].shape for b in batches] == [(10, 3, 64, 64)] * 6, "every batch full on both ranks"
    assert all(b[0].dtype == torch.float32 and b[1].dtype == torch.int64 for b in batches)
    positions = torch.cat([b[2] for b in batches]).tolist()
    assert sorted(set(positions)) == list(range(n)), "every photo in the epoch"
    assert len(positions) - len(set(positions)) == 60 - n, "the last global batch completed with repeats"
    assert torch.cat([b[1] for b in batches]).tolist() == [labels_of[p] for p in positions]
    images = torch.cat([b[0] for b in batches])
    # ImageNet-normalised pixels: back in 0..255 after undoing mean/std.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    pixels = (images * std + mean) * 255
    assert pixels.min() >= -0.5 and pixels.max() <= 255.5 and pixels.std() > 20
    for loader in loaders:
        loader.close()


@pytest.mark.parametrize("roi_decode", [True, False], ids=["roi-decode", "full-decode"])
def test_train_crops_and_flips_match_their_definition(photo_shards, roi_decode):
    """Each training image is the crop window of (seed, epoch, global id), resized, maybe
    flipped and normalised: Pillow, given the same window, produces the same pixels."""
    shard_dir, _ = photo_shards
    loader = ShardLoader(shard_dir, 12, rank=0, nranks=2, seed=3, device="cpu", size=64, return_index=True,
                         roi_decode=roi_decode)
    loader.set_epoch(2)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    shards = loader.shards
    fds = [os.open(p, os.O_RDONLY) for p in shards.paths]
    flips = 0
    try:
        for images, _, positions in loader:
            for image, pos in zip(images, positions.tolist()):
                data, _ = shards.sample(fds[pos % shards.nranks], pos)
                with Image.open(io.BytesIO(data)) as im:
                    pil = ImageOps.exif_transpose(im).convert("RGB")
                y0, x0, y1, x1, flip = crop_window(pil.height, pil.width, augmentation_numbers(3, 2, pos))
                want = pil.resize((64, 64), Image.BILINEAR, box=(x0, y0, x1, y1))
                if flip:
                    want = want.transpose(Image.FLIP_LEFT_RIGHT)
                    flips += 1
                want = torch.from_numpy(np.asarray(want).copy()).permute(2, 0, 1).float()
                diff = ((image * std + mean) * 255 - want).abs()
                assert diff.mean() < 0.5 and (diff > 2).float().mean() < 0.01, f"position {pos}"
    finally:
        for fd in fds:
            os.close(fd)
    assert 0 < flips < 24
    loader.close()


def test_eval_mode_is_a_centre_crop_and_fp16(photo_shards):
    shard_dir, _ = photo_shards
    loader = ShardLoader(shard_dir, 42, rank=0, nranks=1, train=False, fp16=True, device="cpu", size=48, eval_resize=56)
    (images, labels), = list(loader)
    assert images.shape == (42, 3, 48, 48) and images.dtype == torch.float16
    again, _ = next(iter(loader))  # epoch 1: another order, the same deterministic crops
    key = lambda t: sorted(t.float().sum(dim=(1, 2, 3)).tolist())  # noqa: E731
    assert key(again) == key(images)
    loader.close()


# --- the loader's bookkeeping ------------------------------------------------------------------


def test_len_and_steps_equal_on_every_rank(small_shards):
    for drop_last, expected in ((False, 3), (True, 2)):
        loaders = [ShardLoader(small_shards, 10, rank=r, nranks=2, drop_last=drop_last, **FAST) for r in range(2)]
        assert [len(l) for l in loaders] == [expected, expected]
        assert [sum(1 for _ in l) for l in loaders] == [expected, expected]
        sizes = [b[0].shape[0] for b in loaders[0]]  # epoch 1: the last global batch completed
        assert sizes == [10] * expected
        for l in loaders:
            l.close()


def test_every_sample_once_per_epoch_and_set_epoch(small_shards):
    loader = ShardLoader(small_shards, 5, rank=0, nranks=1, return_index=True, **FAST)
    first = run_epoch(loader)  # epoch 0: 46 samples in 10 batches of 5, the last completed
    pos0 = torch.cat([b[2] for b in first]).tolist()
    assert sorted(pos0[:46]) == list(range(46)) and pos0[46:] == pos0[:4]
    # Global id g is line g // 2 of rank file g % 2, whose label write_shard_dir made 100 * rank + line.
    assert torch.cat([b[1] for b in first]).tolist() == [100 * (g % 2) + g // 2 for g in pos0]
    assert pos0 == loader.order(0)
    assert loader.state_dict()["epoch"] == 1 and loader.state_dict()["batch"] == 0

    loader.set_epoch(1)
    second = run_epoch(loader)
    pos1 = torch.cat([b[2] for b in second]).tolist()
    assert sorted(set(pos1)) == list(range(46)) and pos1 != pos0

    # A fresh loader (another run) gives epoch 1 again: same order, same crops, same flips.
    other = ShardLoader(small_shards, 5, rank=0, nranks=1, return_index=True, **FAST)
    other.set_epoch(1)
    again = run_epoch(other)
    assert all(torch.equal(a[2], b[2]) and torch.equal(a[0], b[0]) for a, b in zip(second, again))
    # ... with more workers and threads too: the randomness belongs to the samples, not to DALI.
    wide = ShardLoader(small_shards, 5, rank=0, nranks=1, return_index=True, device="cpu", size=32, num_workers=2, num_threads=3)
    wide.set_epoch(1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(second, run_epoch(wide)))

    # Going back to an earlier epoch reproduces it.
    loader.set_epoch(0)
    assert torch.cat([b[2] for b in run_epoch(loader)]).tolist() == pos0
    for l in (loader, other, wide):
        l.close()


def test_seeds_beyond_64_bits_work_and_still_choose_the_order(small_shards):
    """prep shard takes any seed >= 0; the loader does too, though DALI's own is 64-bit."""
    big = ShardLoader(small_shards, 46, rank=0, nranks=1, return_index=True, seed=2**64 + 5, **FAST)
    (images, labels, positions), = run_epoch(big)
    assert positions.tolist() == big.order(0) and sorted(positions.tolist()) == list(range(46))
    small = ShardLoader(small_shards, 46, rank=0, nranks=1, seed=5, **FAST)
    assert big.order(0) != small.order(0)
    for l in (big, small):
        l.close()


def test_resume_continues_at_the_exact_next_batch(small_shards):
    reference = ShardLoader(small_shards, 4, rank=1, nranks=2, return_index=True, **FAST)
    reference.set_epoch(3)
    uninterrupted = run_epoch(reference) + run_epoch(reference)  # epochs 3 and 4
    assert len(uninterrupted) == 2 * len(reference) == 12

    interrupted = ShardLoader(small_shards, 4, rank=1, nranks=2, return_index=True, **FAST)
    interrupted.set_epoch(3)
    it = iter(interrupted)
    done = [next(it) for _ in range(4)]
    state = interrupted.state_dict()
    assert (state["epoch"], state["batch"]) == (3, 4)
    interrupted.close()

    resumed = ShardLoader(small_shards, 4, rank=1, nranks=2, return_index=True, **FAST)
    resumed.load_state_dict(json.loads(json.dumps(state)))  # as saved in a checkpoint
    resumed.set_epoch(3)  # the usual epoch loop after resuming keeps the position
    rest = run_epoch(resumed)
    assert len(rest) == 2
    resumed.set_epoch(4)
    rest += run_epoch(resumed)
    for got, want in zip(done + rest, uninterrupted, strict=True):
        assert torch.equal(got[2], want[2]) and torch.equal(got[1], want[1]) and torch.equal(got[0], want[0])

    with pytest.raises(ValueError, match="global_batch=16"):
        ShardLoader(small_shards, 8, rank=1, nranks=2, **FAST).load_state_dict(state)
    reference.close()
    resumed.close()


def test_rank_and_world_size_from_torchrun_environment(small_shards, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    loader = ShardLoader(small_shards, 8, return_index=True, **FAST)
    assert (loader.rank, loader.nranks) == (1, 2)
    _, labels, ids = next(iter(loader))
    assert ids.tolist() == EpochPlan(46, 2, 23, 1, 2, 8).rank_order(0)[:8].tolist(), "rank 1's share"
    assert labels.tolist() == [100 * (g % 2) + g // 2 for g in ids.tolist()]
    loader.close()


def test_refuses_what_cannot_load(small_shards, tmp_path):
    with pytest.raises(ValueError, match="rank must be in 0..1"):
        ShardLoader(small_shards, 8, rank=2, nranks=2, **FAST)
    with pytest.raises(FileNotFoundError, match="no such shard directory"):
        ShardLoader(tmp_path / "nothing", 8, rank=0, nranks=1, **FAST)
    uneven = write_shard_dir(tmp_path / "uneven", [[b64(jpeg(i, 40, 30)) for i in range(n)] for n in (3, 2)])
    with pytest.raises(InputError, match="different numbers of steps"):
        ShardLoader(uneven, 2, rank=0, nranks=2, **FAST)


def test_cpu_is_chosen_without_a_gpu(small_shards):
    if GPU:
        pytest.skip("a CUDA device is present: auto means mixed here")
    assert ShardLoader(small_shards, 8, rank=0, nranks=2, device="auto").device == "cpu"
    with pytest.raises(ValueError, match="no CUDA device"):
        ShardLoader(small_shards, 8, rank=0, nranks=2, device="mixed")


def test_cpu_decoding_spawns_its_readers_once_cuda_is_initialised(small_shards, monkeypatch):
    """A training loop on the GPU may initialise CUDA before a CPU-decoding loader starts; DALI then
    refuses forked reader workers (seen on a GPU machine), so the loader spawns them instead."""
    import prepsuite.dali.pipeline as pipeline

    # On a GPU machine this test module has initialised CUDA already (it counted the devices).
    first = "spawn" if pipeline.cuda_initialized() else "fork"
    forked = ShardLoader(small_shards, 8, rank=0, nranks=2, return_index=True, **FAST)
    before = run_epoch(forked)
    monkeypatch.setattr(pipeline, "cuda_initialized", lambda: True)
    spawned = ShardLoader(small_shards, 8, rank=0, nranks=2, return_index=True, **FAST)
    after = run_epoch(spawned)
    assert forked._pipe.py_start_method == first and spawned._pipe.py_start_method == "spawn"
    assert first == ("spawn" if GPU else "fork")
    assert len(before) == len(after) == 3
    for (a, la, pa), (b, lb, pb) in zip(before, after):
        assert torch.equal(pa, pb) and torch.equal(la, lb) and torch.equal(a, b)
    forked.close()
    spawned.close()


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"not*base64!", "invalid base64"),
        (b64(b"GIF89a, not a format DALI reads"), "not an image DALI can decode"),
        (b64(jpeg(7, 64, 48)[:400]), "cannot decode line 6"),  # a JPEG cut short: only the decoder sees it
        (b64(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3), "cannot decode line 6"),  # garbage after the marker
    ],
    ids=["base64", "not-an-image", "truncated-jpeg", "corrupt-jpeg"],
)
def test_a_bad_sample_is_named_by_shard_and_line(tmp_path, payload, reason):
    lines = [b64(jpeg(i, 40, 30)) for i in range(8)]
    lines[5] = payload
    shard_dir = write_shard_dir(tmp_path / "bad", [lines])
    loader = ShardLoader(shard_dir, 4, rank=0, nranks=1, **FAST)
    with pytest.raises(InputError) as err:
        for _ in loader:
            pass
    message = str(err.value)
    assert "rank-00000-of-00001.b64" in message and "line 6" in message and reason in message
    loader.close()


@ON_GPU
def test_mixed_decoding_on_the_gpu_matches_cpu(small_shards):
    cpu = ShardLoader(small_shards, 8, rank=0, nranks=2, train=False, device="cpu", size=32)
    gpu = ShardLoader(small_shards, 8, rank=0, nranks=2, train=False, device="mixed", size=32)
    for (a, la), (b, lb) in zip(cpu, gpu):
        assert b.is_cuda and lb.is_cuda
        assert torch.equal(la, lb.cpu())
        assert (a - b.cpu()).abs().mean() < 0.05  # normalised units: ~3 levels of 255
    train = ShardLoader(small_shards, 8, rank=0, nranks=1, device="mixed", size=32, fp16=True, return_index=True)
    assert train.device == "mixed" and train.device_id == 0
    batches = run_epoch(train)
    assert all(b[0].is_cuda and b[0].dtype == torch.float16 and b[0].shape[1:] == (3, 32, 32) for b in batches)
    assert sorted(set(torch.cat([b[2] for b in batches]).tolist())) == list(range(46))
    for loader in (cpu, gpu, train):
        loader.close()


def test_reading_in_this_process_gives_the_same_batches(small_shards, tmp_path):
    """num_workers=0 (the default on the CPU) reads a batch per call in the training process:
    the same batches, crops and resume points as reader processes give, and bad lines named."""
    procs = ShardLoader(small_shards, 6, rank=1, nranks=2, return_index=True, **FAST)
    inproc = ShardLoader(small_shards, 6, rank=1, nranks=2, return_index=True, **{**FAST, "num_workers": 0})
    assert ShardLoader(small_shards, 6, device="cpu").num_workers == 0
    want, got = run_epoch(procs) + run_epoch(procs), run_epoch(inproc) + run_epoch(inproc)
    assert len(got) == len(want) == 8
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a[2], b[2]) and torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])
    resumed = ShardLoader(small_shards, 6, rank=1, nranks=2, return_index=True, **{**FAST, "num_workers": 0})
    resumed.load_state_dict({**inproc.state_dict(), "epoch": 1, "batch": 2})
    for a, b in zip(run_epoch(resumed), want[6:], strict=True):
        assert torch.equal(a[2], b[2]) and torch.equal(a[0], b[0])
    lines = [b64(jpeg(i, 40, 30)) for i in range(8)]
    lines[5] = b"not*base64!"
    bad = ShardLoader(write_shard_dir(tmp_path / "bad", [lines]), 4, rank=0, nranks=1, **{**FAST, "num_workers": 0})
    with pytest.raises(InputError, match=r"rank-00000-of-00001\.b64: line 6 .*invalid base64"):
        for _ in bad:
            pass
    for loader in (procs, inproc, resumed, bad):
        loader.close()
