"""The training crop is torchvision's RandomResizedCrop, in distribution and in DALI's arithmetic.

torchvision itself is not installed: its wheels for torch 2.13.0 (torchvision 0.28.0, the one pip
resolves) fail at import against the CPU build of torch 2.13.0 this project pins ("operator
torchvision::nms does not exist"). So the reference below is torchvision's documented sampler,
``torchvision.transforms.RandomResizedCrop.get_params`` (torchvision/transforms/transforms.py),
written out step by step with its own kind of randomness (independent uniform draws), and
compared in distribution with ours, whose numbers come from the (seed, epoch, sample id) hash.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from prepsuite.dali.source import augmentation_numbers, crop_window

SHAPES = [(480, 640), (1280, 853), (300, 1200), (1000, 100), (37, 53)]  # (height, width)
DRAWS = 20000


def torchvision_get_params(height, width, scale, ratio, rng):
    """RandomResizedCrop.get_params: (i, j, h, w), line for line."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = int(rng.integers(0, height - h + 1))
            j = int(rng.integers(0, width - w + 1))
            return i, j, h, w
    in_ratio = float(width) / float(height)  # fallback to central crop
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def shrink_to_fit(height, width, u, scale, ratio):
    """The loader's earlier rule (one draw, shrunk until it fits): what the test must tell apart."""
    frac = scale[0] + (scale[1] - scale[0]) * u[0]
    r = math.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[10])
    a = min(frac * height * width, width * width / r, height * height * r)
    return 0, 0, min(math.sqrt(a / r), height), min(math.sqrt(a * r), width)


def stats(windows, height, width):
    """Mean area fraction, mean log aspect (w/h), mean horizontal and vertical centre of the crops."""
    w = np.array(windows, dtype=np.float64)
    i, j, h, cw = w[:, 0], w[:, 1], w[:, 2], w[:, 3]
    return np.array([
        (h * cw / (height * width)).mean(),
        np.log(cw / h).mean(),
        ((j + cw / 2) / width).mean(),
        ((i + h / 2) / height).mean(),
    ])


TOLERANCE = np.array([0.012, 0.01, 0.01, 0.01])  # about 4 standard errors of the difference


@pytest.mark.parametrize("scale, ratio", [((0.08, 1.0), (3 / 4, 4 / 3)), ((0.25, 0.9), (0.5, 2.0))])
@pytest.mark.parametrize("height, width", SHAPES)
def test_crop_statistics_match_torchvisions_sampler(height, width, scale, ratio):
    numbers = augmentation_numbers(11, 3, np.arange(DRAWS))
    ours = []
    for u in numbers:
        y0, x0, y1, x1, _ = crop_window(height, width, u, scale, ratio)
        assert 0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width
        ours.append((y0, x0, y1 - y0, x1 - x0))
    rng = np.random.default_rng(1234)
    reference = [torchvision_get_params(height, width, scale, ratio, rng) for _ in range(DRAWS)]
    got, want = stats(ours, height, width), stats(reference, height, width)
    assert np.all(np.abs(got - want) <= TOLERANCE), f"ours {got.round(4)} vs torchvision {want.round(4)}"
    # Fallback (centre) crops are equally frequent.
    centred = lambda ws: np.mean([(i, j) == ((height - h) // 2, (width - w) // 2) for i, j, h, w in ws])  # noqa: E731
    assert abs(centred(ours) - centred(reference)) < 0.02


def test_the_statistics_tell_the_old_shrinking_rule_apart():
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    height, width = 300, 1200
    numbers = augmentation_numbers(11, 3, np.arange(DRAWS))
    old = stats([shrink_to_fit(height, width, u, scale, ratio) for u in numbers], height, width)
    rng = np.random.default_rng(1234)
    want = stats([torchvision_get_params(height, width, scale, ratio, rng) for _ in range(DRAWS)], height, width)
    # 0.236 vs 0.193 of the area, log aspect -0.001 vs 0.072: each over 3 tolerances away.
    assert (np.abs(old - want)[:2] > 3 * TOLERANCE[:2]).all(), (old, want)


def test_dali_computes_the_same_windows(tmp_path):
    """The pipeline's DALI arithmetic gives crop_window's windows (float32 both; a rare
    rounding tie may land one pixel apart)."""
    pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types
    from nvidia.dali import pipeline_def

    from prepsuite.dali.pipeline import _crop_window

    n = 2000
    shapes = np.array([SHAPES[k % len(SHAPES)] + (3,) for k in range(n)], dtype=np.int64)
    numbers = augmentation_numbers(5, 0, np.arange(n))

    @pipeline_def(batch_size=n, num_threads=1, device_id=None)
    def windows():
        shape = fn.external_source(source=lambda: list(shapes), batch=True, dtype=types.INT64, ndim=1)
        rnd = fn.external_source(source=lambda: list(numbers), batch=True, dtype=types.FLOAT, ndim=1)
        y0, x0, y1, x1, _, _ = _crop_window(shape, rnd, (0.08, 1.0), (3 / 4, 4 / 3))
        return fn.stack(y0, x0, y1, x1)

    pipe = windows()
    pipe.build()
    (out,) = pipe.run()
    got = np.array([np.asarray(out.at(k)) for k in range(n)])
    want = np.array([crop_window(int(s[0]), int(s[1]), u)[:4] for s, u in zip(shapes, numbers)])
    off = np.abs(got - want).max(axis=1)
    assert (off <= 1).all() and (off > 0).mean() < 0.005, got[off > 0][:5]
