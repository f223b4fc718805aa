"""word2vec training throughput: 2 workers against 1, on the benchmark dump's corpus.

The corpus is the one ``benchmarks/corpus.py`` measures: the bundled sample dump written
``--repeat`` times (``python -m prepsuite.text.sample DUMP --repeat N``), turned into
``results/corpus/corpus.txt`` by ``snakemake -j2 corpus`` in a fresh copy of the workflow under
``--workdir`` (skipped when that corpus is already there). Then ``train_word2vec`` — the function
behind ``prep w2v train`` and the ``w2v`` rule — trains on it with the workflow's default
hyper-parameters, once per worker count per round, the counts interleaved within each round
(1, 2, 1, 2, …) so that drift in the machine's load hits both alike; the median round counts.

Figures: corpus words per second of training (every epoch reads every corpus word; vocabulary
scan and saving excluded), the same for "effective" words (what gensim reports: words left after
frequent-word down-sampling), and the ratio against the 1-worker baseline of the same run.

Run it alone on the machine: ``flock /tmp/prepsuite-heavy.lock python benchmarks/w2v.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model
from prepsuite.text.sample import build_dump
from prepsuite.w2v.train import TrainParams, train_word2vec

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def revision() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def build_corpus(workdir: Path, repeat: int, jobs: int) -> Path:
    """``results/corpus/corpus.txt`` of the workflow run on the sample dump repeated ``repeat`` times."""
    corpus = workdir / "results" / "corpus" / "corpus.txt"
    dump = workdir / f"sample-x{repeat}.xml.bz2"
    if corpus.is_file() and dump.is_file():
        print(f"w2v benchmark: reusing {corpus}", file=sys.stderr)
        return corpus
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("pipelines", "profiles"):
        shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.copytree(REPO / name, workdir / name)
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    print(f"w2v benchmark: writing {dump}", file=sys.stderr)
    build_dump(dump, repeat)
    command = [str(BIN / "snakemake"), f"-j{jobs}", "corpus", "--forceall", "--config", f"dump={dump}", "plots=false"]
    print(f"w2v benchmark: {' '.join(command)} (in {workdir})", file=sys.stderr)
    subprocess.run(command, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    return corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/w2vbench"), help="where the dump, corpus and models go")
    ap.add_argument("--repeat", type=int, default=2000, help="copies of the sample dump (2000: about 4 million words)")
    ap.add_argument("--corpus", type=Path, help="train on this corpus instead of building one")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts; the first is the baseline")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sg", action="store_true", help="skip-gram instead of the default CBOW")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    corpus = args.corpus or build_corpus(args.workdir, args.repeat, jobs=2)
    runs: dict[int, list[dict]] = {w: [] for w in args.workers}
    with tempfile.TemporaryDirectory(prefix="w2v-models-", dir=args.workdir if not args.corpus else None) as tmp:
        for round_ in range(args.rounds):
            for workers in args.workers:
                params = TrainParams(sg=args.sg, epochs=args.epochs, workers=workers, seed=1)
                t0, cpu0 = time.perf_counter(), time.process_time()
                result = train_word2vec(corpus, Path(tmp) / f"w{workers}-r{round_}", params)
                total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                report = result.to_dict()
                # CPU seconds per wall second of the whole call: near `workers` when the machine is
                # free; well below it means other processes took the cores (the figure is suspect).
                busy = cpu / total
                runs[workers].append(report | {"total_seconds": total, "cores_busy": busy})
                print(f"round {round_ + 1}/{args.rounds} workers {workers}: {report['words_per_second']:,} words/s "
                      f"({report['effective_words_per_second']:,} effective), train {report['train_seconds']:.2f} s, "
                      f"total {total:.2f} s, {busy:.2f} cores busy, load {os.getloadavg()[0]:.2f}", file=sys.stderr)

    first = runs[args.workers[0]][0]
    rows = []
    base = statistics.median(r["words_per_second"] for r in runs[args.workers[0]])
    for workers in args.workers:
        wps = statistics.median(r["words_per_second"] for r in runs[workers])
        eff = statistics.median(r["effective_words_per_second"] for r in runs[workers])
        secs = statistics.median(r["train_seconds"] for r in runs[workers])
        busy = statistics.median(r["cores_busy"] for r in runs[workers])
        rows.append({"workers": workers, "words_per_second": round(wps), "effective_words_per_second": round(eff),
                     "train_seconds": round(secs, 2), "cores_busy": round(busy, 2), "ratio": round(wps / base, 2),
                     "all_words_per_second": [r["words_per_second"] for r in runs[workers]]})
    summary = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "gensim": first["gensim"], "revision": revision()},
        "corpus": {"path": str(corpus), "bytes": corpus.stat().st_size, "words": first["words"],
                   "vocabulary": first["vocabulary"]},
        "params": {k: v for k, v in first["params"].items() if k != "workers"},
        "rounds": args.rounds,
        "results": rows,
    }
    print(f"\ncorpus {corpus}: {first['words']:,} words, vocabulary {first['vocabulary']:,} "
          f"(min_count {first['params']['min_count']}), {first['params']['epochs']} epochs, "
          f"{'skip-gram' if args.sg else 'CBOW'}, median of {args.rounds} rounds")
    print(f"{'workers':>7}  {'words/s':>12}  {'effective/s':>12}  {'train s':>8}  {'cores':>5}  "
          f"{'vs ' + str(args.workers[0]):>6}")
    for r in rows:
        print(f"{r['workers']:>7}  {r['words_per_second']:>12,}  {r['effective_words_per_second']:>12,}  "
              f"{r['train_seconds']:>8.2f}  {r['cores_busy']:>5.2f}  {r['ratio']:>6.2f}")
    print(f"machine: {summary['machine']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
