"""The DALI pipeline over one rank's shard: read (Python workers) → decode → augment.

Decoding is the expensive step of image training, so it runs where it is fastest: on the GPU
(``device="mixed"``: nvJPEG and, where the GPU has one, the hardware JPEG decoder) when a CUDA
device is present, and on the CPU (libjpeg-turbo in DALI's own threads, ``device_id=None`` so no
GPU is needed at all) when it is not.

The training crop is torchvision's RandomResizedCrop (area fraction and aspect ratio drawn, drawn
again up to 10 times while the crop does not fit, a centre crop as the fallback; resized to
``size``×``size``) plus a horizontal flip. Its random numbers are not DALI's: the source hands
``N_AUG`` uniform numbers per sample, a function of (seed, epoch, global sample id), and the
pipeline turns them into the crop window with DALI arithmetic and resizes that window with
``fn.resize``'s region of interest (what ``fn.random_resized_crop`` does inside). That makes every
crop a function of the sample and the epoch only, so a resumed run, a run with another number of
ranks, workers or threads, and a CPU run all see the same crops.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MODES = ("train", "eval", "decode")
DEVICES = ("auto", "cpu", "mixed", "gpu")


def cuda_device_count() -> int:
    """Number of CUDA devices DALI can use (0 on a machine without a GPU or driver)."""
    try:
        from nvidia.dali.backend import GetCUDADeviceCount

        return int(GetCUDADeviceCount())
    except Exception:  # no driver: DALI raises instead of returning 0
        return 0


def cuda_initialized() -> bool:
    """Whether this process has already initialised the CUDA driver (PyTorch or DALI may have).

    A process that has must not fork: DALI refuses to start forked reader workers then, even for a
    pipeline that decodes on the CPU (a training loop on the GPU with CPU decoding, say).
    """
    try:
        from nvidia.dali.backend import IsDriverInitialized

        return bool(IsDriverInitialized())
    except Exception:  # no driver library at all: nothing was initialised
        return False


def resolve_device(device: str) -> str:
    """``"mixed"`` (GPU decoding) or ``"cpu"`` for a requested ``device``.

    ``"auto"`` picks ``"mixed"`` when a CUDA device is present; ``"gpu"`` is an alias of
    ``"mixed"``. Asking for the GPU on a machine without one is an error, not a silent fallback.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "auto":
        return "mixed" if cuda_device_count() > 0 else "cpu"
    if device in ("mixed", "gpu"):
        if cuda_device_count() == 0:
            raise ValueError(f"device={device!r} decodes on the GPU, but no CUDA device is visible; use device='cpu' or 'auto'")
        return "mixed"
    return "cpu"


def default_device_id() -> int:
    """The GPU of this process: ``LOCAL_RANK`` (set by torchrun) modulo the devices present."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    count = max(cuda_device_count(), 1)
    return local_rank % count


def _crop_window(shape, rnd, area: Sequence[float], ratio: Sequence[float]):
    """(y0, x0, y1, x1, height, width) of RandomResizedCrop, from the shape and the source's numbers.

    The same computation as :func:`.source.crop_window` (torchvision's sampler), in DALI arithmetic
    on each sample's vector of ``CROP_TRIES`` tries at once: the first try that fits is picked by
    a max-reduction of ``fits · (CROP_TRIES − t)``, its sides by a sum over the one-hot of that try,
    and a centre crop with the ratio clamped stands in when no try fits.
    """
    import numpy as np
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath
    import nvidia.dali.types as types

    from .source import CROP_TRIES

    T = CROP_TRIES
    f32 = types.FLOAT
    h = fn.cast(shape[0], dtype=f32)
    w = fn.cast(shape[1], dtype=f32)
    u_area, u_ratio = rnd[0:T], rnd[T : 2 * T]
    u_x, u_y = rnd[2 * T], rnd[2 * T + 1]
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    target = h * w * (area[0] + (area[1] - area[0]) * u_area)
    r = dmath.exp(lo + (hi - lo) * u_ratio)  # width / height
    cw = dmath.floor(dmath.sqrt(target * r) + 0.5)
    ch = dmath.floor(dmath.sqrt(target / r) + 0.5)
    fits = fn.cast((cw <= w) & (ch <= h) & (cw > 0.0) & (ch > 0.0), dtype=f32)
    score = fits * types.Constant(np.arange(T, 0, -1, dtype=np.float32))  # T for try 0 … 1 for the last
    best = fn.reductions.max(score)
    first = fits * fn.cast(score == best, dtype=f32)  # one-hot of the first try that fits (or zeros)
    found = fn.cast(best > 0.0, dtype=f32)
    fw = dmath.min(w, dmath.floor(h * ratio[1] + 0.5))
    fh = dmath.min(h, dmath.floor(w / ratio[0] + 0.5))
    cw = fn.reductions.sum(cw * first) + (1.0 - found) * fw
    ch = fn.reductions.sum(ch * first) + (1.0 - found) * fh
    x0 = found * dmath.floor(u_x * (w - cw + 1.0)) + (1.0 - found) * dmath.floor((w - cw) / 2.0)
    y0 = found * dmath.floor(u_y * (h - ch + 1.0)) + (1.0 - found) * dmath.floor((h - ch) / 2.0)
    return y0, x0, y0 + ch, x0 + cw, h, w


def _decode_crop(encoded, rnd, *, decoder: str, size: int, area, ratio, roi_decode: bool):
    """Decoded images cut to their crop windows, and the window within each (start, end).

    With ``roi_decode`` only the window's bounding box is decoded (plus a margin as wide as the
    resampling filter, so edge pixels are resampled as from the whole image): the decoder skips
    the rest, which is most of the work for a random crop of 8–100 % of the area.
    """
    import nvidia.dali.fn as fn
    import nvidia.dali.math as dmath
    import nvidia.dali.types as types

    y0, x0, y1, x1, h, w = _crop_window(fn.peek_image_shape(encoded), rnd, area, ratio)
    if not roi_decode:
        images = fn.decoders.image(encoded, device=decoder, output_type=types.RGB)
        return images, fn.stack(y0, x0), fn.stack(y1, x1)
    margin = dmath.ceil(dmath.max(y1 - y0, x1 - x0) / size) + 1.0
    ys = dmath.max(y0 - margin, 0.0)
    xs = dmath.max(x0 - margin, 0.0)
    ye = dmath.min(y1 + margin, h)
    xe = dmath.min(x1 + margin, w)
    images = fn.decoders.image_slice(
        encoded,
        start=fn.cast(fn.stack(ys, xs), dtype=types.INT32),
        end=fn.cast(fn.stack(ye, xe), dtype=types.INT32),
        axis_names="HW",
        device=decoder,
        output_type=types.RGB,
    )
    return images, fn.stack(y0 - ys, x0 - xs), fn.stack(y1 - ys, x1 - xs)


def shard_pipeline(
    source,
    *,
    batch_size: int,
    mode: str = "train",
    size: int = 224,
    device: str = "auto",
    device_id: int | None = None,
    fp16: bool = False,
    num_threads: int = 2,
    py_num_workers: int = 2,
    py_start_method: str = "auto",
    prefetch: int = 2,
    area: Sequence[float] = (0.08, 1.0),
    ratio: Sequence[float] = (3 / 4, 4 / 3),
    eval_resize: int | None = None,
    roi_decode: bool = True,
    seed: int = 0,
):
    """Build (not yet run) a DALI pipeline over ``source`` (a :class:`~.source.ShardSource`).

    Outputs ``(images, labels, positions)``. ``mode``:

    * ``"train"`` — random resized crop to ``size``×``size`` (``area``, ``ratio`` ranges), random
      horizontal flip, ImageNet normalisation, float CHW (``fp16`` for half precision); with
      ``roi_decode`` (default) only the crop's region of each JPEG is decoded;
    * ``"eval"`` — shorter side resized to ``eval_resize`` (default ``size / 0.875``, i.e. 256 for
      224), centre crop ``size``×``size``, same normalisation;
    * ``"decode"`` — the decoded RGB images as they are (uint8 HWC, varying sizes), for checks.

    ``device``: ``"auto"`` (GPU decoding when a CUDA device is present), ``"mixed"``/``"gpu"`` or
    ``"cpu"``. Images and labels of a GPU pipeline are on the GPU, positions stay on the CPU.
    ``py_start_method="auto"`` forks the reader workers on the CPU and spawns them when the GPU is
    used or CUDA is already initialised in this process (such a process must not fork).
    """
    from nvidia.dali import Pipeline
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    from .source import N_AUG

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    batched = bool(getattr(source, "batched", False))
    if py_num_workers == 0 and not batched:
        raise ValueError("py_num_workers=0 (reading in this process) needs a batch source (ShardBatchSource)")
    if batch_size < 1 or size < 1 or num_threads < 1 or py_num_workers < 0 or prefetch < 1:
        raise ValueError(
            "batch_size, size, num_threads and prefetch must be >= 1 and py_num_workers >= 0; got "
            f"{batch_size}, {size}, {num_threads}, {py_num_workers}, {prefetch}"
        )
    if not (0 < area[0] <= area[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"area must satisfy 0 < lo <= hi <= 1 and ratio 0 < lo <= hi; got {area}, {ratio}")
    decoder = resolve_device(device)
    gpu = decoder == "mixed"
    if gpu and device_id is None:
        device_id = default_device_id()
    if py_start_method == "auto":
        py_start_method = "spawn" if gpu or cuda_initialized() else "fork"
    dtype = types.FLOAT16 if fp16 else types.FLOAT

    pipe = Pipeline(
        batch_size=batch_size,
        num_threads=num_threads,
        device_id=device_id if gpu else None,
        # DALI takes a signed 64-bit seed (a larger one fails at build with a bare TypeError).
        # No operator here draws from DALI's generator: the samples' numbers come from the
        # source, seeded with the whole of ``seed``. Folding it only keeps DALI's own in range.
        seed=seed % (1 << 63),
        py_num_workers=max(py_num_workers, 1),
        py_start_method=py_start_method,
        prefetch_queue_depth=prefetch,
    )
    with pipe:
        train = mode == "train"
        if bool(getattr(source, "augment", train)) != train:
            raise ValueError(f"the source must hand augmentation numbers exactly in train mode (mode={mode!r})")
        outputs = fn.external_source(
            source=source,
            num_outputs=4 if train else 3,
            parallel=py_num_workers > 0,
            batch=batched,
            **({"batch_info": True} if batched else {}),
            **({"prefetch_queue_depth": prefetch} if py_num_workers > 0 else {}),
            dtype=[types.UINT8, types.INT64, types.INT64, types.FLOAT][: 4 if train else 3],
            ndim=[1, 0, 0, 1][: 4 if train else 3],
        )
        encoded, labels, positions = outputs[:3]
        norm = dict(
            dtype=dtype,
            output_layout="CHW",
            mean=[255 * m for m in IMAGENET_MEAN],
            std=[255 * s for s in IMAGENET_STD],
        )
        if train:
            rnd = outputs[3]
            images, start, end = _decode_crop(
                encoded, rnd, decoder=decoder, size=size, area=area, ratio=ratio, roi_decode=roi_decode
            )
            images = fn.resize(images, size=[size, size], roi_start=start, roi_end=end, antialias=True)
            flip = fn.cast(rnd[N_AUG - 1] < 0.5, dtype=types.INT32)
            images = fn.crop_mirror_normalize(images, mirror=flip, **norm)
        else:
            images = fn.decoders.image(encoded, device=decoder, output_type=types.RGB)
        if mode == "eval":
            shorter = eval_resize if eval_resize is not None else round(size / 0.875)
            if shorter < size:
                raise ValueError(f"eval_resize ({shorter}) must be >= size ({size})")
            images = fn.resize(images, resize_shorter=shorter, antialias=True)
            images = fn.crop_mirror_normalize(images, crop=(size, size), crop_pos_x=0.5, crop_pos_y=0.5, **norm)
        if gpu:
            labels = labels.gpu()
        pipe.set_outputs(images, labels, positions)
    return pipe
