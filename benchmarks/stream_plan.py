"""What one multistream chunk job pays to find its byte ranges: reading the index vs. the plan.

Wikimedia's ``*-multistream-index.txt.bz2`` has a line per page (zhwiki: about 4.6 million, some
50 MB compressed). A chunk job that reads the index decompresses and parses all of it to find its
own few streams, so the cost is paid once per chunk: with 64 chunks, 64 times. ``prep plan``
(the workflow's ``plan_chunks`` step) reads it once and writes each chunk's ranges to a small
JSON file that the chunk jobs read instead.

No real index can be fetched here, so one of the same shape is generated: ``--pages`` lines
``offset:id:title``, a new stream every 100 pages, titles of 2–9 random CJK characters (which
compress worse than real titles, so the file is somewhat larger than the real one for the same
page count). The dump beside it is a sparse file of ``--dump-gb`` GB (only its size is read).
Every figure is the median of ``--repeats`` timings in this one run.

    python benchmarks/stream_plan.py --pages 4600000 --chunks 64
"""

from __future__ import annotations

import argparse
import bz2
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prepsuite.text.multistream import plan_chunks, write_plan

PAGES_PER_STREAM = 100


def build_index(path: Path, pages: int, seed: int = 1) -> int:
    """Write a synthetic index of ``pages`` lines; return its uncompressed size."""
    rnd = random.Random(seed)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    compressor = bz2.BZ2Compressor(9)
    size, offset, parts = 0, 600, []
    with open(path, "wb") as out:
        for page in range(pages):
            if page and page % PAGES_PER_STREAM == 0:
                offset += rnd.randint(20_000, 80_000)
            parts.append(f"{offset}:{page * 3 + 1}:{''.join(rnd.choices(chars, k=rnd.randint(2, 9)))}\n")
            if len(parts) == 100_000:
                data = "".join(parts).encode("utf-8")
                size += len(data)
                out.write(compressor.compress(data))
                parts = []
        data = "".join(parts).encode("utf-8")
        size += len(data)
        out.write(compressor.compress(data) + compressor.flush())
    return size


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=4_600_000, help="index lines (pages of the dump)")
    parser.add_argument("--chunks", type=int, default=64, help="chunk jobs the streams are split into")
    parser.add_argument("--dump-gb", type=float, default=3.0, help="size of the (sparse) dump file")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prepsuite-plan-") as tmp:
        work = Path(tmp)
        index = work / "zhwiki-bench-pages-articles-multistream-index.txt.bz2"
        dump = work / "zhwiki-bench-pages-articles-multistream.xml.bz2"
        with open(dump, "wb") as fh:
            fh.truncate(int(args.dump_gb * 1e9))
        raw = build_index(index, args.pages)
        plan = work / "streams.json"
        once = timed(lambda: write_plan(dump, index, args.chunks, plan), 1)
        per_job_index = timed(lambda: plan_chunks(dump, index, args.chunks), args.repeats)
        per_job_plan = timed(lambda: plan_chunks(dump, plan, args.chunks), args.repeats)
        streams = -(-args.pages // PAGES_PER_STREAM)
        print(f"index: {args.pages} pages, {streams} streams, {raw / 1e6:.0f} MB "
              f"({index.stat().st_size / 1e6:.1f} MB compressed); plan: {plan.stat().st_size / 1e3:.0f} kB")
        print("| step | seconds |")
        print("|---|---:|")
        print(f"| `prep plan` (once) | {once:.2f} |")
        print(f"| a chunk job finding its ranges in the index | {per_job_index:.2f} |")
        print(f"| a chunk job finding its ranges in the plan | {per_job_plan:.3f} |")
        print(f"| {args.chunks} chunk jobs, index each | {per_job_index * args.chunks:.0f} |")
        print(f"| plan once + {args.chunks} chunk jobs reading it | {once + per_job_plan * args.chunks:.1f} |")
        print(f"per job: the plan is read {per_job_index / per_job_plan:.0f}x faster than the index")
    return 0


if __name__ == "__main__":
    sys.exit(main())
