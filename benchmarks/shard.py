"""Benchmark of `prep shard --nranks 8` against the I/O floor and a naive in-memory shuffle.

Generates a base64 image dataset (random bytes standing in for JPEGs: base64 and the shuffle do
not care what the bytes are) of ``--size-mb`` under ``--tmp``, then runs, each in a fresh
process whose peak RSS is taken from ``wait4``:

* ``cp -r`` of the part files (the I/O floor: the same bytes read and written once);
* a naive shuffle: read all lines into memory, ``random.shuffle``, write 8 round-robin files;
* ``prep shard --nranks 8`` (validation, sha256 of inputs and outputs, index.db, manifest,
  fsync of the outputs);
* ``prep verify`` of the result.

Then, to show that memory does not grow with the size of the lines, ``prep shard`` again on
datasets of ``--rss-size-mb`` with small and with large lines. Everything generated is deleted
at the end unless ``--keep``.

Run it alone (``flock /tmp/prepsuite-heavy.lock python benchmarks/shard.py``): the machine has
two cores and the figures are only meaningful when nothing else runs.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NAIVE = r"""
import random, sys
from pathlib import Path
data_dir, out, nranks = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
lines = []
for name in (data_dir / "file_list.txt").read_text().split():
    with open(data_dir / name, "rb") as fh:
        lines.extend(fh.readlines())
random.Random(0).shuffle(lines)
out.mkdir()
for r in range(nranks):
    with open(out / f"rank-{r:05d}-of-{nranks:05d}.b64", "wb") as fh:
        fh.writelines(lines[r::nranks])
"""


def generate(data_dir: Path, size_mb: float, line_kb: float, part_mb: float, seed: int) -> tuple[int, int]:
    """Part files of ``base64(random bytes)<TAB>label`` lines, raw sizes uniform in
    [0.5, 1.5] x ``line_kb`` KB; (lines, bytes) written."""
    rng = np.random.default_rng(seed)
    pool = rng.bytes(32 << 20)
    data_dir.mkdir(parents=True)
    target = int(size_mb * 1e6)
    written = lines = 0
    names = []
    while written < target:
        name = f"part-{len(names):05d}.b64"
        names.append(name)
        part = 0
        with open(data_dir / name, "wb", buffering=4 << 20) as fh:
            while part < part_mb * 1e6 and written < target:
                size = int(rng.uniform(0.5, 1.5) * line_kb * 1024)
                start = int(rng.integers(0, len(pool) - size))
                line = base64.b64encode(pool[start : start + size]) + b"\t%d\n" % rng.integers(0, 1000)
                fh.write(line)
                part += len(line)
                written += len(line)
                lines += 1
    (data_dir / "file_list.txt").write_text("".join(f"{n}\n" for n in names))
    return lines, written


def measure(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``cmd``, run in its own process.

    The RSS comes from GNU time where there is one: a child forked from this process would
    inherit (and report in ``ru_maxrss``) this process's own memory until it execs.
    """
    os.sync()  # the previous command's dirty pages must not be written back during this one
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        wrapped = [gnu_time, "-f", "%M", "-o", rss_file.name, *cmd] if gnu_time else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{stderr}")
        kb = int(rss_file.read().strip().splitlines()[-1]) if gnu_time else usage.ru_maxrss
    return seconds, kb / 1024


def prep_exe() -> str:
    beside = Path(sys.executable).with_name("prep")
    return str(beside) if beside.exists() else "prep"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1100, help="dataset size for the main comparison (MB)")
    ap.add_argument("--line-kb", type=float, default=96, help="mean raw image size (KB); lines are 4/3 of it")
    ap.add_argument("--nranks", type=int, default=8)
    ap.add_argument("--rss-size-mb", type=float, default=300, help="dataset size for the line-size sweep (MB)")
    ap.add_argument("--rss-line-kb", default="8,1024", help="mean raw image sizes (KB) of the line-size sweep")
    ap.add_argument("--tmp", default="/tmp", help="where the datasets are generated")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="prepsuite-shard-bench-", dir=args.tmp))
    prep = prep_exe()
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        data = root / "data"
        t = time.perf_counter()
        lines, size = generate(data, args.size_mb, args.line_kb, 64, 0)
        print(f"dataset: {lines} lines, {size / 1e6:.0f} MB in {len(list(data.glob('part-*')))} parts"
              f" (generated in {time.perf_counter() - t:.1f} s)")
        mb = size / 1e6
        measure(["cat", *map(str, sorted(data.glob("part-*")))])  # same page-cache state for all

        results = []
        for name, cmd in [
            ("cp -r (I/O floor)", ["cp", "-r", str(data), str(root / "copy")]),
            ("naive in-memory shuffle", [sys.executable, "-c", NAIVE, str(data), str(root / "naive"), str(args.nranks)]),
            (f"prep shard --nranks {args.nranks}", [prep, "shard", "--data-dir", str(data), "--nranks",
                                                    str(args.nranks), "--out", str(root / "shards")]),
            ("prep verify --data-dir", [prep, "verify", str(root / "shards"), "--data-dir", str(data)]),
        ]:
            seconds, rss = measure(cmd)
            results.append((name, seconds, rss))
            shutil.rmtree(root / "copy", ignore_errors=True)
            shutil.rmtree(root / "naive", ignore_errors=True)
        floor = results[0][1]
        print(f"\n{'command':32s} {'seconds':>8s} {'MB/s':>8s} {'x cp time':>10s} {'peak RSS MB':>12s}")
        for name, seconds, rss in results:
            print(f"{name:32s} {seconds:8.2f} {mb / seconds:8.0f} {seconds / floor:10.2f} {rss:12.0f}")
        shutil.rmtree(root / "shards", ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)

        print(f"\npeak RSS of prep shard --nranks {args.nranks} against line size ({args.rss_size_mb:.0f} MB datasets):")
        print(f"{'mean line KB':>12s} {'lines':>8s} {'seconds':>8s} {'MB/s':>8s} {'peak RSS MB':>12s}")
        for kb in (float(x) for x in args.rss_line_kb.split(",")):
            sweep = root / f"sweep-{kb:g}"
            lines, size = generate(sweep, args.rss_size_mb, kb, 64, 1)
            seconds, rss = measure([prep, "shard", "--data-dir", str(sweep), "--nranks", str(args.nranks),
                                       "--out", str(root / f"sweep-out-{kb:g}")])
            print(f"{kb * 4 / 3:12.0f} {lines:8d} {seconds:8.2f} {size / 1e6 / seconds:8.0f} {rss:12.0f}")
            shutil.rmtree(sweep, ignore_errors=True)
            shutil.rmtree(root / f"sweep-out-{kb:g}", ignore_errors=True)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
