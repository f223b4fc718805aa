"""Corpus pipeline vs. the blog chain, on the same dump, in one process tree.

The baseline is the recipe most people follow to turn a Chinese Wikipedia dump into a corpus:
four separate, sequential commands —

1. ``python -m wikiextractor.WikiExtractor -b 2048M -o extracted DUMP``
2. ``python benchmarks/blog_clean.py extracted/*/wiki_* -o cleaned.txt`` (the regex script)
3. ``opencc -c t2s.json -i cleaned.txt -o simplified.txt`` (OpenCC's C++ command-line tool)
4. ``python -m jieba -d " " simplified.txt > segmented.txt``

— against ``snakemake -jJ corpus`` with this repository's Snakefile, once per chunk count asked
for. The dump is built from the bundled sample (``build_dump(repeat=N)``, N chosen so the XML is
at least ``--mb`` MB uncompressed) in a temporary directory under /tmp. Every figure is seconds
of wall time and MB/s *of XML* (uncompressed dump bytes / seconds), so stages are comparable with
each other and with the end-to-end run. Pipeline stages are reported from Snakemake's benchmark
files (``s``: wall time of each job, process start-up included) summed over the chunk jobs, the
stage's window (first job start to last job end, from the benchmark files' times), and the
in-process seconds from ``results/corpus/stats.json`` (the difference is per-job start-up).
A last run of the pipeline on the bundled 48-article sample gives the fixed cost per job, which
is what more chunks cost on few cores.

``--rounds N`` repeats blog chain and pipelines N times, interleaved, and reports medians (the
machine is shared; CPU seconds are reported too, as they suffer less from other load).
``--repo DIR`` runs the workflow and code of another checkout (a snapshot of one commit, e.g.
``git archive HEAD | tar -x -C DIR``) instead of this working tree. ``--multistream PAGES``
builds a multistream dump with its index instead, which the workflow extracts one job per chunk.

``--speed`` is the corpus-speed suite: it builds a single-stream dump *and* a multistream dump
(with its index) of the same pages (their XML is checked to be the same bytes) and runs, in every
round, ``bzcat DUMP > /dev/null`` on both (the floor for reading one stream), the blog chain on
the single-stream dump, and the pipeline runs given by ``--run`` (default: wikiextractor and fast
extraction on both dumps with chunks=2, fast + multistream with chunks=4 and 8, and fast +
multistream with ``-j1``). It reports medians, ratios against the blog chain and against single-stream
``bzcat``, per-stage seconds and MB/s from stats.json, whether the corpora are byte-identical
across dumps, engines, chunk counts and ``-j``, and checks the issue's targets. ``--parity``
(on by default with ``--speed``) segments the whole benchmark corpus before segmentation
(cleaned, converted) with ``prep segment --engine jieba`` and ``--engine rjieba`` (as the workflow runs it: the text
converted before, tokens not converted again) and counts the lines that differ. ``--breakdown``
(on by default with ``--speed``) times fast extraction's parts on one core: decompressing, parsing
the XML into pages, converting the wikitext, writing JSON lines.

Run it alone on the machine (``flock /tmp/prepsuite-heavy.lock python benchmarks/corpus.py``);
``--help`` lists the options. Needs the ``opencc`` command (Debian/Ubuntu: ``apt-get install -y
opencc``).
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from machine import cpu_model
from prepsuite.text.sample import build_dump, iter_dump_xml

REPO = Path(__file__).resolve().parents[1]
BLOG_CLEAN = REPO / "benchmarks" / "blog_clean.py"
BIN = Path(sys.executable).parent
#: Workflow rules in the order they run (whichever of them the workflow has), and the stages of
#: stats.json each one's in-process seconds come from. `process` is clean → convert → segment
#: fused into one job per chunk; `process_streams` (a multistream dump, stages fused) is
#: extract → clean → convert → segment in one job per chunk.
PIPELINE_RULES = ("plan_chunks", "extract", "extract_streams", "process_streams", "process", "clean", "convert",
                  "segment", "corpus")
# Rules run inside Snakemake's own process (`run:`; their stage names in the report): no process
# start-up of their own, so they are left out of the per-job start-up figures.
IN_SNAKEMAKE = ("plan_chunks", "gather")
RULE_STAGES = {"extract_streams": ("extract",), "process": ("clean", "convert", "segment"),
               "process_streams": ("extract", "clean", "convert", "segment"), "corpus": ("gather",)}
_CJK = re.compile(r"[\u3400-\u9fff]")


# --- the dump ----------------------------------------------------------------------------------

def xml_size(repeat: int) -> int:
    return sum(len(piece.encode("utf-8")) for piece in iter_dump_xml(repeat))


def choose_repeat(min_bytes: int) -> int:
    """Smallest-ish ``repeat`` whose uncompressed XML is at least ``min_bytes``."""
    repeat = max(1, -(-min_bytes // xml_size(1)))
    while xml_size(repeat) < min_bytes:
        repeat += max(1, repeat // 100)
    return repeat


def measured_xml_bytes(dump: Path) -> int:
    """Uncompressed size of the dump as written (decompressed again, not estimated)."""
    total = 0
    with bz2.open(dump, "rb") as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
    return total


# --- running and timing commands ---------------------------------------------------------------

@dataclass
class Step:
    name: str
    command: list[str]
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_step(step: Step, cwd: Path, log: Path, stdout: Path | None = None,
             env_extra: dict[str, str] | None = None) -> Step:
    """Run one command to completion; wall and CPU seconds (its whole process tree) recorded."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env_extra or {}))
    with open(log, "wb") as err, open(stdout or os.devnull, "wb") as out:
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        proc = subprocess.run(step.command, cwd=cwd, stdout=out, stderr=err, env=env)
        step.seconds = time.perf_counter() - t0
        step.cpu_seconds = _children_cpu() - cpu0
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(
            f"corpus benchmark: step {step.name!r} failed with exit status {proc.returncode}\n"
            f"  command: {' '.join(step.command)}\n  cwd: {cwd}\n  log: {log}\n{tail}"
        )
    return step


def check_opencc() -> str:
    """Path of OpenCC's C++ command-line tool, or exit explaining how to install it."""
    path = shutil.which("opencc")
    how = (
        "the blog chain needs OpenCC's own C++ command-line tool `opencc`.\n"
        "  Debian/Ubuntu: sudo apt-get install -y opencc   (installs /usr/bin/opencc)\n"
        "  macOS: brew install opencc\n"
        "Do not pip-install the `opencc` package into the project's environment: it clashes with\n"
        "opencc-python-reimplemented, which `prep convert` uses."
    )
    if path is None:
        raise SystemExit(f"corpus benchmark: `opencc` is not on PATH; {how}")
    probe = subprocess.run([path, "--version"], capture_output=True, text=True)
    if "Open Chinese Convert" not in probe.stdout + probe.stderr:
        raise SystemExit(f"corpus benchmark: {path} is not OpenCC's command-line tool; {how}")
    return path


def warm_up() -> None:
    """Build jieba's dictionary cache once, outside the timings (both sides reuse it)."""
    subprocess.run([sys.executable, "-c", "import jieba; jieba.initialize()"],
                   check=True, capture_output=True)


# --- the blog chain ----------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stages: list[dict] = field(default_factory=list)
    output: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def text_figures(path: Path) -> dict:
    lines = chars = cjk = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                lines += 1
                chars += sum(1 for c in line if not c.isspace())
                cjk += len(_CJK.findall(line))
    return {"lines": lines, "non_space_chars": chars, "cjk_chars": cjk,
            "bytes": path.stat().st_size}


def run_blog(dump: Path, work: Path, opencc: str) -> Result:
    work.mkdir(parents=True)
    py = sys.executable
    steps = [
        Step("extract", [py, "-m", "wikiextractor.WikiExtractor", "-b", "2048M",
                         "-o", "extracted", str(dump)]),
        Step("regex", []),  # the inputs are known once extraction is done
        Step("opencc", [opencc, "-c", "t2s.json", "-i", "cleaned.txt", "-o", "simplified.txt"]),
        Step("jieba", [py, "-m", "jieba", "-d", " ", "simplified.txt"]),
    ]
    result = Result("blog chain")
    t0 = time.perf_counter()
    for step in steps:
        if step.name == "regex":
            files = sorted(str(p.relative_to(work)) for p in (work / "extracted").rglob("wiki_*"))
            step.command = [py, str(BLOG_CLEAN), *files, "-o", "cleaned.txt"]
        stdout = work / "segmented.txt" if step.name == "jieba" else None
        run_step(step, work, work / f"{step.name}.log", stdout)
        result.cpu_seconds += step.cpu_seconds
        result.stages.append({"stage": step.name, "seconds": step.seconds,
                              "cpu_seconds": step.cpu_seconds, "command": step.command})
    result.seconds = time.perf_counter() - t0
    docs = 0
    for p in (work / "extracted").rglob("wiki_*"):
        with open(p, encoding="utf-8") as fh:
            docs += sum(1 for line in fh if line.startswith("<doc "))
    result.output = {"documents": docs, **text_figures(work / "segmented.txt")}
    return result


# --- the pipeline ------------------------------------------------------------------------------

def _benchmark_rows(run_dir: Path, rule: str) -> list[tuple[float, float]]:
    """(seconds, end time) of every job of ``rule``, from Snakemake's benchmark files."""
    rows = []
    for tsv in sorted((run_dir / "results" / "benchmarks" / rule).glob("*.tsv")):
        lines = tsv.read_text(encoding="utf-8").splitlines()
        header, values = lines[0].split("\t"), lines[1].split("\t")
        rows.append((float(values[header.index("s")]), tsv.stat().st_mtime))
    return rows


def stages_by_name(stats: dict) -> dict[str, dict]:
    """stats.json's stages keyed by name (the file has held them as a mapping and as a list)."""
    stages = stats["stages"]
    return stages if isinstance(stages, dict) else {s["stage"]: s for s in stages}


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the intervals is running."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def compile_sources(repo: Path) -> None:
    """Byte-compile the measured checkout's ``src`` once, as installing a package does.

    Why: every chunk job is a new interpreter. Where PYTHONDONTWRITEBYTECODE is set (as on the
    project's own machines), an editable install or a snapshot never gets its ``__pycache__``,
    and each job would compile the whole package again (~0.05 s a job here): a cost no installed
    copy pays, measured as if it were the pipeline's.
    """
    import compileall

    compileall.compile_dir(str(repo / "src"), quiet=1)


def run_pipeline(dump: Path, work: Path, chunks: int | str, jobs: int, repo: Path = REPO,
                 settings: list[str] = ()) -> Result:
    """``snakemake -jJ corpus`` with ``repo``'s workflow and code (another checkout's ``src``
    goes first on PYTHONPATH, so a snapshot of a commit is measured, not the working tree)."""
    work.mkdir(parents=True)
    command = [
        str(BIN / "snakemake"), f"-j{jobs}", "corpus",
        "--snakefile", str(repo / "Snakefile"), "--directory", str(work),
        # The Snakefile's `configfile: "pipelines/config.yaml"` is relative to the working
        # directory, which --directory moves; name it explicitly.
        "--configfile", str(repo / "pipelines" / "config.yaml"),
        # plots=false: the text stages are timed, not the report's figures drawn after them
        "--config", f"dump={dump}", f"chunks={chunks}", "plots=false", *settings,
    ]
    env = None
    if repo.resolve() != REPO:
        env = {"PYTHONPATH": os.pathsep.join(
            p for p in (str(repo.resolve() / "src"), os.environ.get("PYTHONPATH")) if p)}
    step = run_step(Step("snakemake", command), work, work / "snakemake.log", env_extra=env)
    result = Result(" ".join(["pipeline", f"chunks={chunks}", *settings]), step.seconds, step.cpu_seconds)
    result.extra["command"] = command
    raw_stats = json.loads((work / "results" / "corpus" / "stats.json").read_text(encoding="utf-8"))
    stats = stages_by_name(raw_stats)
    result.extra["work"] = str(work)
    # stats.json's own view: in-process seconds and MB/s (of each stage's input) per stage, the
    # engines it says were used (counters engine_*) and the settings it records.
    result.extra["stats"] = {name: {"seconds": st.get("seconds", 0.0), "mb_per_s": st.get("mb_per_s")}
                             for name, st in stats.items()}
    result.extra["engines"] = {name: sorted(k.removeprefix("engine_") for k in st.get("counters", {})
                                            if k.startswith("engine_"))
                               for name, st in stats.items()}
    result.extra["config"] = raw_stats.get("config", {}) if isinstance(raw_stats, dict) else {}
    intervals = []
    bench = work / "results" / "benchmarks"
    present = {d.name for d in bench.iterdir() if d.is_dir()}
    for rule in [r for r in PIPELINE_RULES if r in present] + sorted(present - set(PIPELINE_RULES)):
        rows = _benchmark_rows(work, rule)
        if not rows:
            continue
        intervals += [(end - sec, end) for sec, end in rows]
        parts = RULE_STAGES.get(rule, (rule,))
        result.stages.append({
            "stage": "gather" if rule == "corpus" else rule,
            "jobs": len(rows),
            "seconds": sum(s for s, _ in rows),  # job-seconds (wall, summed over jobs)
            "window": max(end for _, end in rows) - min(end - s for s, end in rows),
            "in_process": sum(stats.get(p, {}).get("seconds", 0.0) for p in parts),
            "parts": {p: stats.get(p, {}).get("seconds", 0.0) for p in parts} if len(parts) > 1 else {},
        })
    result.extra["busy"] = union_length(intervals)
    corpus = work / "results" / "corpus" / "corpus.txt"
    result.output = {"documents": stats["gather"]["docs_out"], **text_figures(corpus)}
    result.output["sha256"] = hashlib.sha256(corpus.read_bytes()).hexdigest()
    result.extra["rejected"] = {k: v["rejected"] for k, v in stats.items() if v["rejected"]}
    return result


# --- report ------------------------------------------------------------------------------------

def mbps(xml_bytes: int, seconds: float) -> str:
    return f"{xml_bytes / 1e6 / seconds:.2f}" if seconds > 0 else "–"


def report(xml_bytes: int, blog: Result, pipes: list[Result], jobs: int) -> str:
    out = []
    out.append(f"Blog chain (sequential steps), {xml_bytes / 1e6:.1f} MB of XML\n")
    out.append("| step | s | MB/s of XML | CPU s |")
    out.append("|---|---:|---:|---:|")
    for st in blog.stages:
        out.append(f"| {st['stage']} | {st['seconds']:.1f} | {mbps(xml_bytes, st['seconds'])} "
                   f"| {st['cpu_seconds']:.1f} |")
    out.append(f"| **end to end** | **{blog.seconds:.1f}** | **{mbps(xml_bytes, blog.seconds)}** "
               f"| {blog.cpu_seconds:.1f} |")
    for p in pipes:
        out.append(f"\nPipeline `snakemake -j{jobs} corpus`, {p.name.removeprefix('pipeline ')}\n")
        out.append("| stage | jobs | job-s (sum) | MB/s of XML per job-s | window s | in-process s |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for st in p.stages:
            out.append(f"| {st['stage']} | {st['jobs']} | {st['seconds']:.1f} "
                       f"| {mbps(xml_bytes, st['seconds'])} | {st['window']:.1f} "
                       f"| {st['in_process']:.1f} |")
            for part, sec in st.get("parts", {}).items():
                out.append(f"| · {part} (inside {st['stage']}) | | | | | {sec:.1f} |")
        jobs_sum = sum(st["seconds"] for st in p.stages)
        started = [st for st in p.stages if st["stage"] not in IN_SNAKEMAKE]
        njobs = sum(st["jobs"] for st in started)
        outside = sum(st["seconds"] - st["in_process"] for st in started)
        out.append(f"| **end to end** | {sum(st['jobs'] for st in p.stages)} | {jobs_sum:.1f} "
                   f"| | **{p.seconds:.1f}** ({mbps(xml_bytes, p.seconds)} MB/s) "
                   f"| CPU {p.cpu_seconds:.1f} s |")
        out.append(f"\nOutside the stages' own timers (process start-up, imports, loading dictionaries; "
                   f"jobs that start a process): {outside:.1f} job-s, "
                   f"{outside / max(1, njobs):.2f} s per job. No job running: {p.seconds - p.extra['busy']:.1f} s "
                   f"(Snakemake start-up, DAG, scheduling gaps).")
    out.append("\nEnd to end (ratio = blog s / pipeline s; > 1 means the pipeline is faster)\n")
    out.append("| run | s | MB/s of XML | CPU s | ratio | documents | lines | non-space chars |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in [blog, *pipes]:
        ratio = blog.seconds / r.seconds if r.seconds else 0.0
        o = r.output
        out.append(f"| {r.name} | {r.seconds:.1f} | {mbps(xml_bytes, r.seconds)} "
                   f"| {r.cpu_seconds:.1f} | {ratio:.2f} | {o['documents']} | {o['lines']} "
                   f"| {o['non_space_chars']} |")
    digests = {p.output["sha256"] for p in pipes}
    if len(pipes) > 1:
        out.append(f"\nPipeline corpus.txt identical across chunk counts: {len(digests) == 1}")
    return "\n".join(out)


def summary(xml_bytes: int, rounds: list[list[Result]]) -> str:
    out = ["| run | wall s | MB/s of XML | ratio (blog / run) | CPU s | CPU ratio |",
           "|---|---:|---:|---:|---:|---:|"]
    blog_s = statistics.median(r[0].seconds for r in rounds)
    blog_cpu = statistics.median(r[0].cpu_seconds for r in rounds)
    for i, first in enumerate(rounds[0]):
        secs = [r[i].seconds for r in rounds]
        cpu = statistics.median(r[i].cpu_seconds for r in rounds)
        med = statistics.median(secs)
        out.append(f"| {first.name} | {med:.1f} ({min(secs):.1f}–{max(secs):.1f}) "
                   f"| {mbps(xml_bytes, med)} | {blog_s / med:.2f} | {cpu:.1f} "
                   f"| {blog_cpu / cpu:.2f} |")
    return "\n".join(out)


def fixed_costs(result: Result) -> str:
    """Per-job cost on a dump so small that nearly all of it is start-up."""
    out = ["| stage | jobs | wall s per job | in-process s per job |", "|---|---:|---:|---:|"]
    for st in result.stages:
        n = max(1, st["jobs"])
        out.append(f"| {st['stage']} | {st['jobs']} | {st['seconds'] / n:.2f} "
                   f"| {st['in_process'] / n:.2f} |")
    out.append(f"| snakemake end to end | {sum(st['jobs'] for st in result.stages)} "
               f"| {result.seconds:.1f} | |")
    return "\n".join(out)


def machine() -> str:
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, {platform.system()}"


def revision(repo: Path = REPO) -> str:
    """The commit measured, flagged when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"{repo} (not a git checkout)"
    return head + (" + uncommitted changes" if dirty.strip() else "")


# --- the corpus-speed suite (--speed) ----------------------------------------------------------

@dataclass(frozen=True)
class RunSpec:
    """One pipeline configuration of the speed suite."""

    dump: str = "single"  # single | multi
    extract: str = "wikiextractor"
    chunks: int | str = "auto"  # the config's default, or a number
    jobs: int = 2
    split: bool = True  # false: split_single_stream=false (one job decompresses a single-stream dump)

    @property
    def label(self) -> str:
        kind = "multistream" if self.dump == "multi" else "single-stream"
        if self.dump == "single" and not self.split:
            kind += " read whole"
        return f"{self.extract}, {kind}, chunks={self.chunks}, -j{self.jobs}"


#: The issue's configurations: the config's defaults (wikiextractor, chunks: auto) on both dumps,
#: the single-stream dump also read whole by one job (split_single_stream: false, the former
#: way), fast extraction on both, and -j1 for the defaults.
SPEED_RUNS = (
    RunSpec("single", "wikiextractor"),
    RunSpec("single", "wikiextractor", split=False),
    RunSpec("multi", "wikiextractor"),
    RunSpec("single", "fast"),
    RunSpec("multi", "fast"),
    RunSpec("single", "wikiextractor", jobs=1),
)


def _flag(value: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise ValueError(value)
    return value.strip().lower() == "true"


def _chunk_count(value: str) -> int | str:
    return "auto" if value.strip().lower() == "auto" else int(value)


_SPEC_KEYS = {"dump": str, "extract": str, "chunks": _chunk_count, "jobs": int, "split": _flag}


def parse_run(text: str) -> RunSpec:
    """``dump=multi,extract=fast,chunks=8,jobs=1`` (any subset; the rest are RunSpec's defaults;
    ``chunks=auto`` leaves the count to the workflow's config)."""
    fields: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in _SPEC_KEYS:
            raise argparse.ArgumentTypeError(
                f"--run {text!r}: expected KEY=VALUE items with KEY in {', '.join(_SPEC_KEYS)}")
        try:
            fields[key] = _SPEC_KEYS[key](value)
        except ValueError:
            what = "true or false" if key == "split" else "an integer" + (" or auto" if key == "chunks" else "")
            raise argparse.ArgumentTypeError(f"--run {text!r}: {key} must be {what}") from None
    spec = RunSpec(**fields)
    if spec.dump not in ("single", "multi") or (spec.chunks != "auto" and spec.chunks < 1) or spec.jobs < 1:
        raise argparse.ArgumentTypeError(f"--run {text!r}: dump is single or multi, chunks auto or >= 1, jobs >= 1")
    return spec


def xml_digest(dump: Path) -> tuple[int, str]:
    """Uncompressed size and sha256 of a dump's XML (all bz2 streams, as bzcat writes them)."""
    digest, total = hashlib.sha256(), 0
    with bz2.open(dump, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            total += len(chunk)
    return total, digest.hexdigest()


def run_bzcat(dump: Path, work: Path, name: str) -> Result:
    """``bzcat DUMP > /dev/null``: decompressing one stream, the floor for any reader of it."""
    work.mkdir(parents=True, exist_ok=True)
    step = run_step(Step("bzcat", ["bzcat", str(dump)]), work, work / f"{name}.log")
    return Result(name, step.seconds, step.cpu_seconds, extra={"command": f"bzcat {dump.name} > /dev/null"})


def run_spec(spec: RunSpec, dumps: dict[str, Path], work: Path, repo: Path,
             settings: list[str]) -> Result:
    extra = [] if spec.extract == "wikiextractor" else [f'extract={{"engine": "{spec.extract}"}}']
    if not spec.split:
        extra.append("split_single_stream=false")
    result = run_pipeline(dumps[spec.dump], work, spec.chunks, spec.jobs, repo, [*extra, *settings])
    result.name = spec.label + (" " + " ".join(settings) if settings else "")
    result.extra["spec"] = spec.__dict__
    return result


def noop_seconds(result: Result, repo: Path) -> float:
    """Snakemake again in a finished work directory: start-up and DAG only, nothing to run."""
    env = None
    if repo.resolve() != REPO:
        env = {"PYTHONPATH": str(repo.resolve() / "src")}
    work = Path(result.extra["work"])
    step = run_step(Step("noop", result.extra["command"]), work, work / "noop.log", env_extra=env)
    return step.seconds


def segment_parity(extract_dir: Path, work: Path, repo: Path, opencc_config: str = "t2s") -> dict:
    """Segment the benchmark corpus before segmentation with both engines; count differing lines.

    The extraction chunks are cleaned (``prep clean``) and converted (``prep convert``, the
    workflow's default engine) into one file, then ``prep segment --engine jieba`` and
    ``--engine rjieba`` run on it as the workflow's segment rule does.
    """
    work.mkdir(parents=True, exist_ok=True)
    env = {"PYTHONPATH": str(repo.resolve() / "src")} if repo.resolve() != REPO else None
    prep = str(BIN / "prep")
    chunks = sorted(extract_dir.glob("chunk-*.jsonl"))
    if not chunks:
        raise SystemExit(f"corpus benchmark: no extraction chunks in {extract_dir} for --parity")
    with open(work / "extracted.jsonl", "wb") as out:
        for chunk in chunks:
            with open(chunk, "rb") as fh:
                shutil.copyfileobj(fh, out)
    run_step(Step("clean", [prep, "clean", "extracted.jsonl", "cleaned.jsonl", "--rejects",
                            "rejects.tsv"]), work, work / "clean.log", env_extra=env)
    run_step(Step("convert", [prep, "convert", "cleaned.jsonl", "converted.jsonl", "--config",
                              opencc_config]), work, work / "convert.log",
             env_extra=env)
    seconds = {}
    for engine in ("jieba", "rjieba"):
        step = run_step(Step(engine, [prep, "segment", "converted.jsonl", f"seg-{engine}.jsonl",
                                      "--engine", engine,
                                      "--stats", f"seg-{engine}.json"]),
                        work, work / f"seg-{engine}.log", env_extra=env)
        stage = json.loads((work / f"seg-{engine}.json").read_text(encoding="utf-8"))
        seconds[engine] = {"wall": step.seconds, "in_process": stage.get("seconds"),
                           "mb_per_s": stage.get("mb_per_s")}
    lines = differ = 0
    examples = []
    with open(work / "seg-jieba.jsonl", encoding="utf-8") as a, \
            open(work / "seg-rjieba.jsonl", encoding="utf-8") as b:
        for number, (x, y) in enumerate(zip(a, b, strict=True), 1):
            lines += 1
            if x != y:
                differ += 1
                if len(examples) < 5:
                    tx, ty = json.loads(x)["text"].split(" "), json.loads(y)["text"].split(" ")
                    at = next((i for i, (p, q) in enumerate(zip(tx, ty)) if p != q), min(len(tx), len(ty)))
                    examples.append({"line": number, "jieba": tx[max(0, at - 3):at + 4],
                                     "rjieba": ty[max(0, at - 3):at + 4]})
    return {"source": str(extract_dir), "lines": lines, "differing_lines": differ,
            "examples": examples, "seconds": seconds,
            "input_bytes": (work / "converted.jsonl").stat().st_size,
            "command": "prep segment converted.jsonl seg-ENGINE.jsonl --engine ENGINE"}


_BREAKDOWN = r"""
import bz2, json, sys, tempfile, time
from pathlib import Path
from prepsuite.text import extract as ex
dump = Path(sys.argv[1])
out = {}
t = time.perf_counter()
with bz2.open(dump, "rb") as fh:
    while fh.read(1 << 20):
        pass
out["decompress (Python bz2)"] = time.perf_counter() - t
t = time.perf_counter()
pages = sum(1 for _ in ex.iter_pages(dump))
out["+ XML parse into pages (iter_pages)"] = time.perf_counter() - t
if hasattr(ex, "parse_pages_etree"):  # the former reader, ElementTree's iterparse, for comparison
    t = time.perf_counter()
    with bz2.open(dump, "rb") as fh:
        sum(1 for _ in ex.parse_pages_etree(fh, dump, lambda: 0))
    out["(instead: decompress + ElementTree iterparse, the former reader)"] = time.perf_counter() - t
t = time.perf_counter()
stats = ex.StageStats("extract")
for pg in ex.iter_pages(dump):
    if ex._is_article(pg, stats):
        ex._fast_text(pg)
out["+ fast wikitext to text"] = time.perf_counter() - t
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    ex.extract_dump(dump, [Path(tmp) / "chunk.jsonl"], engine="fast", processes=1)
    out["+ JSON lines written (extract_dump, 1 process)"] = time.perf_counter() - t
print(json.dumps(out))
"""


def extract_breakdown(dump: Path, repo: Path, repeats: int = 1) -> dict[str, float]:
    """Where fast extraction spends its time, on one core: cumulative seconds of decompressing,
    parsing the XML into pages, converting the articles' wikitext and writing JSON lines
    (each a pass of its own; medians of ``repeats`` runs)."""
    env = dict(os.environ)
    if repo.resolve() != REPO:
        env["PYTHONPATH"] = str(repo.resolve() / "src")
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", _BREAKDOWN, str(dump)], capture_output=True,
                              text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"corpus benchmark: extraction breakdown failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {step: statistics.median(r[step] for r in runs) for step in runs[0]}


def _median_stage_rows(runs: list[Result]) -> dict[str, dict]:
    """Per rule row (extract, process, gather …): medians over rounds of job-s, window, in-process."""
    rows: dict[str, dict] = {}
    for name in dict.fromkeys(st["stage"] for r in runs for st in r.stages):
        picked = [st for r in runs for st in r.stages if st["stage"] == name]
        rows[name] = {"jobs": picked[0]["jobs"],
                      **{k: statistics.median(st[k] for st in picked)
                         for k in ("seconds", "window", "in_process")}}
    return rows


def _median_stats(runs: list[Result]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in dict.fromkeys(n for r in runs for n in r.extra["stats"]):
        secs = [r.extra["stats"][name]["seconds"] for r in runs if name in r.extra["stats"]]
        out[name] = {"seconds": statistics.median(secs)}
    return out


def speed_report(xml_bytes: int, rounds: list[list[Result]], specs: list[RunSpec],
                 fixed: Result | None, noop_s: float | None, parity: dict | None,
                 breakdown: dict[str, float] | None = None, blog_target: float = 5.0, bzcat_target: float = 3.0) -> tuple[str, dict]:
    """Tables and verdicts of the speed suite; also returns the medians for --json."""
    names = [r.name for r in rounds[0]]
    med = {n: statistics.median(r[i].seconds for r in rounds) for i, n in enumerate(names)}
    cpu = {n: statistics.median(r[i].cpu_seconds for r in rounds) for i, n in enumerate(names)}
    spread = {n: (min(r[i].seconds for r in rounds), max(r[i].seconds for r in rounds))
              for i, n in enumerate(names)}
    bz_single, bz_multi, blog = names[0], names[1], names[2]
    out = [f"End to end, median (min–max) of {len(rounds)} round(s); {xml_bytes / 1e6:.1f} MB of XML. "
           f"vs blog = blog s / run s (> 1: faster than the blog chain); "
           f"vs bzcat = run s / single-stream bzcat s.\n",
           "| run | wall s | MB/s of XML | vs blog | vs bzcat | CPU s |",
           "|---|---:|---:|---:|---:|---:|"]
    for n in names:
        lo, hi = spread[n]
        out.append(f"| {n} | {med[n]:.2f} ({lo:.2f}–{hi:.2f}) | {mbps(xml_bytes, med[n])} "
                   f"| {med[blog] / med[n]:.2f} | {med[n] / med[bz_single]:.2f} | {cpu[n]:.1f} |")

    pipes = names[3:]
    by_run = {n: [r[i] for r in rounds] for i, n in enumerate(names)}
    out.append("\nBlog chain per step (medians): " + ", ".join(
        f"{st['stage']} {statistics.median(r.stages[k]['seconds'] for r in by_run[blog]):.1f} s"
        for k, st in enumerate(rounds[0][2].stages)))

    stages = ["extract", "clean", "convert", "segment", "gather"]
    out.append("\nPipeline per stage, in-process seconds from stats.json (medians over rounds; summed "
               "over a stage's jobs; MB/s of XML = XML MB / s)\n")
    out.append("| run | " + " | ".join(stages) + " | engines (stats.json) |")
    out.append("|---|" + "---:|" * len(stages) + "---|")
    for n in pipes:
        st = _median_stats(by_run[n])
        eng = by_run[n][-1].extra["engines"]
        cfg = by_run[n][-1].extra.get("config", {})
        engines = [f"extract={cfg.get('extract', {}).get('engine', '?')} (config)"] + [
            f"{k}={'/'.join(v)}" for k, v in eng.items() if v]
        cells = [f"{st[s]['seconds']:.2f} ({mbps(xml_bytes, st[s]['seconds'])})" if s in st else "–"
                 for s in stages]
        out.append(f"| {n} | " + " | ".join(cells) + f" | {', '.join(engines)} |")

    out.append("\nWhere the wall time goes (medians): window = first job start to last job end of a "
               "rule; idle = no job running (Snakemake start-up, DAG, scheduling); start-up per job = "
               "(job wall s − in-process s) / jobs, over the jobs that start a process of their own\n")
    out.append("| run | wall s | idle s | extract window s (jobs) | chunk jobs window s (jobs) "
               "| gather s | start-up s per job | CPU s |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in pipes:
        rows = _median_stage_rows(by_run[n])
        idle = statistics.median(r.seconds - r.extra["busy"] for r in by_run[n])
        started = [v for k, v in rows.items() if k not in IN_SNAKEMAKE]
        job_s = sum(v["seconds"] for v in started)
        inproc = sum(v["in_process"] for v in started)
        njobs = sum(v["jobs"] for v in started)
        ext = rows.get("extract") or rows.get("extract_streams") or {"window": 0.0, "jobs": 0}
        proc = rows.get("process") or rows.get("process_streams") or {"window": 0.0, "jobs": 0}
        gat = rows.get("gather", {"window": 0.0})
        ext_cell = f"{ext['window']:.2f} ({ext['jobs']})" if ext["jobs"] else "–"
        out.append(f"| {n} | {med[n]:.2f} | {idle:.2f} | {ext_cell} "
                   f"| {proc['window']:.2f} ({proc['jobs']}) | {gat['window']:.2f} "
                   f"| {(job_s - inproc) / max(1, njobs):.2f} | {cpu[n]:.1f} |")
    if fixed is not None:
        out.append(f"\nFixed costs on the bundled sample ({fixed.name}): end to end {fixed.seconds:.2f} s; "
                   + ", ".join(f"{st['stage']} {st['seconds'] / max(1, st['jobs']):.2f} s wall per job "
                               f"({st['in_process'] / max(1, st['jobs']):.3f} s in-process)"
                               for st in fixed.stages)
                   + (f"; snakemake with nothing left to do: {noop_s:.2f} s" if noop_s is not None else ""))

    if breakdown:
        out.append(f"\nFast extraction on one core, single-stream dump, cumulative seconds, each "
                   f"line a pass of its own (medians of {len(rounds)}; bzcat of the same dump: "
                   f"{med[bz_single]:.2f} s)\n")
        out.append("| step | cumulative s | MB/s of XML |")
        out.append("|---|---:|---:|")
        for step, sec in breakdown.items():
            out.append(f"| {step} | {sec:.2f} | {mbps(xml_bytes, sec)} |")

    # Identical corpora.
    digests: dict[str, set[str]] = {n: {r.output["sha256"] for r in by_run[n]} for n in pipes}
    out.append("\nCorpora (sha256 of corpus.txt):")
    out.append(f"* every run gives the same bytes in every round: "
               f"{all(len(d) == 1 for d in digests.values())}")
    spec_of = dict(zip(pipes, specs))
    for engine in dict.fromkeys(s.extract for s in specs):
        group = [n for n in pipes if spec_of[n].extract == engine]
        varied = [what for what, values in (
            ("single-stream vs multistream", {spec_of[n].dump for n in group}),
            ("chunks", {spec_of[n].chunks for n in group}),
            ("-j", {spec_of[n].jobs for n in group}),
            ("single-stream cut at its blocks vs read whole", {spec_of[n].split for n in group})) if len(values) > 1]
        if varied:
            same = len(set().union(*(digests[n] for n in group))) == 1
            out.append(f"* {engine}: identical across {', '.join(varied)}: {same}")
    engines = {}
    for n in pipes:
        engines.setdefault(spec_of[n].extract, set()).update(digests[n])
    if len(engines) > 1:
        out.append(f"* {' vs '.join(engines)} corpora identical: "
                   f"{len(set().union(*engines.values())) == 1}")
    first = by_run[pipes[0]][-1].output
    out.append(f"* corpus: {first['documents']} documents, {first['lines']} lines, "
               f"{first['non_space_chars']} non-space characters, {first['bytes'] / 1e6:.1f} MB")

    if parity is not None:
        out.append(f"\nSegment engines, line by line on the converted corpus "
                   f"({parity['input_bytes'] / 1e6:.1f} MB, {parity['lines']} lines; "
                   f"`{parity['command']}`): {parity['differing_lines']} differing lines. "
                   + "; ".join(f"{e}: {v['wall']:.1f} s wall, {v['in_process']:.1f} s in-process "
                               f"({v['mb_per_s']} MB/s of text)" for e, v in parity["seconds"].items()))
        for ex in parity["examples"]:
            out.append(f"  line {ex['line']}: jieba {' '.join(ex['jieba'])!r} / rjieba {' '.join(ex['rjieba'])!r}")

    # Targets.
    out.append("\nTargets")
    best = min(pipes, key=lambda n: med[n])
    out.append(f"* end to end >= {blog_target:g}x faster than the blog chain: "
               + "; ".join(f"{n}: {med[blog] / med[n]:.2f}x {'met' if med[blog] / med[n] >= blog_target else 'NOT met'}"
                           for n in pipes))
    multi = [n for n in pipes if spec_of[n].dump == "multi"]
    if multi:
        out.append(f"* multistream within {bzcat_target:g}x of single-stream bzcat "
                   f"({med[bz_single]:.2f} s, so <= {bzcat_target * med[bz_single]:.2f} s): "
                   + "; ".join(f"{n}: {med[n] / med[bz_single]:.2f}x "
                               f"{'met' if med[n] / med[bz_single] <= bzcat_target else 'NOT met'}"
                               for n in multi))
    scaling = []
    for n in pipes:
        s = spec_of[n]
        twin = next((m for m in pipes if spec_of[m] == RunSpec(s.dump, s.extract, s.chunks, 2, s.split)), None)
        if s.jobs == 1 and twin:
            scaling.append(f"{s.extract}, {'multistream' if s.dump == 'multi' else 'single-stream'}, "
                           f"chunks={s.chunks}: -j1 {med[n]:.2f} s, -j2 {med[twin]:.2f} s, "
                           f"speed-up {med[n] / med[twin]:.2f}x (CPU s {cpu[n]:.1f} vs {cpu[twin]:.1f})")
    if scaling:
        out.append("* -j1 vs -j2: " + "; ".join(scaling))
    out.append(f"* fastest: {best}, {med[best]:.2f} s ({mbps(xml_bytes, med[best])} MB/s of XML); "
               f"bzcat single-stream {med[bz_single]:.2f} s, multistream {med[bz_multi]:.2f} s")
    figures = {"median_seconds": med, "median_cpu_seconds": cpu, "min_max_seconds": spread}
    return "\n".join(out), figures


def main_speed(args: argparse.Namespace) -> int:
    opencc = check_opencc()
    if shutil.which("bzcat") is None:
        raise SystemExit("corpus benchmark: --speed needs the `bzcat` command (package bzip2)")
    specs = list(args.run or SPEED_RUNS)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prepsuite-corpus-speed-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        from prepsuite.text.sample import build_multistream

        repeat = choose_repeat(int(args.mb * 1e6))
        t0 = time.perf_counter()
        single = build_dump(work / "dump.xml.bz2", repeat=repeat)
        multi, index = build_multistream(work / "dump-multistream.xml.bz2", repeat=repeat,
                                         pages_per_stream=args.pages_per_stream)
        (xml_bytes, sha_single), (multi_bytes, sha_multi) = xml_digest(single), xml_digest(multi)
        if (xml_bytes, sha_single) != (multi_bytes, sha_multi):
            raise SystemExit("corpus benchmark: the single-stream and multistream dumps hold different XML")
        streams = sum(1 for _ in bz2.open(index, "rt", encoding="utf-8")) // args.pages_per_stream
        print(f"machine: {machine()}\nrevision: {revision(args.repo)} "
              f"(benchmark script: {revision()})\nwork dir: {work}\n"
              f"dumps (built in {time.perf_counter() - t0:.0f} s), repeat={repeat}, "
              f"{xml_bytes / 1e6:.1f} MB of XML each, same XML bytes: True\n"
              f"  {single.name}: {single.stat().st_size / 1e6:.2f} MB bz2 (one stream)\n"
              f"  {multi.name}: {multi.stat().st_size / 1e6:.2f} MB bz2 (~{streams} streams of "
              f"{args.pages_per_stream} pages) + {index.name}", flush=True)
        warm_up()
        dumps = {"single": single, "multi": multi}
        rounds: list[list[Result]] = []
        for k in range(1, args.rounds + 1):
            print(f"round {k}/{args.rounds} (load average {os.getloadavg()[0]:.2f})", flush=True)
            rdir = work / f"round-{k}"
            runs = [run_bzcat(single, rdir, "bzcat single-stream"),
                    run_bzcat(multi, rdir, "bzcat multistream"),
                    run_blog(single, rdir / "blog", opencc)]
            for i, spec in enumerate(specs):
                runs.append(run_spec(spec, dumps, rdir / f"pipeline-{i}", args.repo, args.set))
            for r in runs:
                print(f"  {r.name}: {r.seconds:.2f} s", flush=True)
            rounds.append(runs)
            if k < args.rounds and not args.keep:
                shutil.rmtree(rdir, ignore_errors=True)
        # Fixed costs: the best-guess configuration on the bundled sample (48 articles).
        small_multi, _ = build_multistream(work / "small" / "sample-multistream.xml.bz2", repeat=1,
                                           pages_per_stream=args.pages_per_stream)
        # As many runs as rounds, medians: single runs of a few seconds are at the mercy of the
        # machine's other load.
        fixed_spec = RunSpec("multi", "fast", 2, 2)
        fixed_runs, noops = [], []
        for k in range(1, args.rounds + 1):
            fixed_runs.append(run_spec(fixed_spec, {"multi": small_multi},
                                       work / "small" / f"pipeline-{k}", args.repo, args.set))
            noops.append(noop_seconds(fixed_runs[-1], args.repo))
        fixed = fixed_runs[-1]
        fixed.seconds = statistics.median(r.seconds for r in fixed_runs)
        fixed.stages = [{**st, **{key: statistics.median(r.stages[i][key] for r in fixed_runs)
                                  for key in ("seconds", "in_process")}}
                        for i, st in enumerate(fixed.stages)]
        fixed.name = (f"{fixed_spec.label}, {measured_xml_bytes(small_multi) / 1e3:.0f} kB of XML, "
                      f"medians of {len(fixed_runs)} runs")
        noop = statistics.median(noops)
        parity = None
        if args.parity:
            source = next(r for r in rounds[-1][3:] if r.extra.get("spec", {}).get("extract") == "wikiextractor") \
                if any(s.extract == "wikiextractor" for s in specs) else rounds[-1][3]
            print(f"parity: segmenting {source.name}'s extraction with jieba and rjieba", flush=True)
            parity = segment_parity(Path(source.extra["work"]) / "results" / "extract",
                                    work / "parity", args.repo)
        if not args.keep:
            shutil.rmtree(work / f"round-{args.rounds}", ignore_errors=True)
        breakdown = extract_breakdown(single, args.repo, args.rounds) if args.breakdown else None
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}\n")
        text, figures = speed_report(xml_bytes, rounds, specs, fixed, noop, parity, breakdown)
        print(text)
        if args.json:
            args.json.write_text(json.dumps({
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": machine(), "revision": revision(args.repo), "argv": sys.argv,
                "xml_bytes": xml_bytes, "repeat": repeat, "pages_per_stream": args.pages_per_stream,
                "specs": [s.__dict__ for s in specs], **figures,
                "rounds": [[r.__dict__ for r in runs] for runs in rounds],
                "fixed_cost": fixed.__dict__, "noop_seconds": noop, "parity": parity,
                "extract_breakdown": breakdown,
            }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        if args.keep or args.workdir:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=None,
                    help="minimum uncompressed XML size of the dump, MB (default 30; 100 with --speed)")
    ap.add_argument("--chunks", type=int, nargs="+", default=[8],
                    help="pipeline chunk counts to run, e.g. --chunks 2 4 8 (default: 8)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="snakemake -j (default 2)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="directory for the dump and all outputs (default: a new temp dir in /tmp)")
    ap.add_argument("--multistream", type=int, default=0, metavar="PAGES",
                    help="build a multistream dump with its index (PAGES pages per bz2 stream), "
                         "so the pipeline extracts one chunk per job; 0 (default): a plain dump")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat blog chain + pipelines this many times, interleaved (default 1)")
    ap.add_argument("--repo", type=Path, default=REPO,
                    help="checkout whose workflow and code the pipeline runs (default: this one); "
                         "e.g. a snapshot made with `git archive HEAD | tar -x -C DIR`")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra workflow setting passed to snakemake --config, e.g. "
                         "--set fuse_stages=False (repeatable; snakemake reads only True/False as booleans)")
    ap.add_argument("--speed", action="store_true",
                    help="the corpus-speed suite: single-stream and multistream dumps of the same "
                         "pages, bzcat of both, the blog chain and the --run configurations "
                         "(--chunks, --jobs and --multistream do not apply)")
    ap.add_argument("--run", type=parse_run, action="append", default=None, metavar="SPEC",
                    help="with --speed: a pipeline configuration, e.g. "
                         "dump=multi,extract=fast,chunks=8,jobs=1 (chunks=auto, the default, is the "
                         "config's; split=false reads a single-stream dump whole in one job) "
                         "(repeatable; default: the six configurations of SPEED_RUNS)")
    ap.add_argument("--pages-per-stream", type=int, default=100,
                    help="with --speed: pages per bz2 stream of the multistream dump (default 100)")
    ap.add_argument("--parity", action=argparse.BooleanOptionalAction, default=None,
                    help="segment the converted benchmark corpus with jieba and rjieba and count "
                         "differing lines (default: on with --speed, off otherwise)")
    ap.add_argument("--breakdown", action=argparse.BooleanOptionalAction, default=True,
                    help="with --speed: also time fast extraction's parts on one core "
                         "(decompress, parse, convert, write; default on)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.mb is None:
        args.mb = 100.0 if args.speed else 30.0
    if args.parity is None:
        args.parity = args.speed
    if args.run and not args.speed:
        ap.error("--run needs --speed")
    if args.pages_per_stream < 1:
        ap.error("--pages-per-stream must be positive")
    compile_sources(args.repo)
    if args.speed:
        if args.mb <= 0 or args.rounds < 1:
            ap.error("--mb and --rounds must be positive")
        return main_speed(args)
    if (args.mb <= 0 or args.jobs < 1 or args.rounds < 1 or args.multistream < 0
            or any(c < 1 for c in args.chunks)):
        ap.error("--mb, --jobs, --rounds and --chunks must be positive")

    opencc = check_opencc()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prepsuite-corpus-bench-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        repeat = choose_repeat(int(args.mb * 1e6))
        if args.multistream:
            from prepsuite.text.sample import build_multistream

            dump, _ = build_multistream(work / "dump-multistream.xml.bz2", repeat=repeat,
                                        pages_per_stream=args.multistream)
        else:
            dump = build_dump(work / "dump.xml.bz2", repeat=repeat)
        xml_bytes = measured_xml_bytes(dump)
        print(f"machine: {machine()}\nrevision: {revision(args.repo)}\nwork dir: {work}\n"
              f"dump: {dump.name}, repeat={repeat}, {xml_bytes / 1e6:.1f} MB of XML "
              f"({dump.stat().st_size / 1e6:.2f} MB bz2)", flush=True)
        warm_up()
        rounds = []
        for k in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            print(f"round {k}/{args.rounds} (load average {load:.2f})", flush=True)
            rdir = work / f"round-{k}"
            blog = run_blog(dump, rdir / "blog", opencc)
            print(f"  blog chain: {blog.seconds:.1f} s", flush=True)
            pipes = []
            for chunks in args.chunks:
                pipes.append(run_pipeline(dump, rdir / f"pipeline-c{chunks}", chunks, args.jobs,
                                          args.repo, args.set))
                print(f"  pipeline chunks={chunks}: {pipes[-1].seconds:.1f} s", flush=True)
            rounds.append([blog, *pipes])
            if not args.keep and not (args.parity and k == args.rounds):
                shutil.rmtree(rdir, ignore_errors=True)
        parity = None
        if args.parity:
            parity = segment_parity(Path(rounds[-1][1].extra["work"]) / "results" / "extract",
                                    work / "parity", args.repo)
            if not args.keep:
                shutil.rmtree(work / f"round-{args.rounds}", ignore_errors=True)
        small = build_dump(work / "small" / "sample.xml.bz2", repeat=1)
        fixed = run_pipeline(small, work / "small" / "pipeline", max(args.chunks), args.jobs,
                             args.repo, args.set)
        print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        print(f"\nPer stage (round {len(rounds)})\n")
        print(report(xml_bytes, rounds[-1][0], rounds[-1][1:], args.jobs))
        print(f"\nFixed cost per job: the bundled sample ({measured_xml_bytes(small) / 1e3:.0f} kB "
              f"of XML), chunks={max(args.chunks)}\n")
        print(fixed_costs(fixed))
        print(f"\nEnd to end over {len(rounds)} round(s): median (min–max) seconds\n")
        print(summary(xml_bytes, rounds))
        blog_s = statistics.median(r[0].seconds for r in rounds)
        best_s, best = min((statistics.median(r[i].seconds for r in rounds), rounds[0][i].name)
                           for i in range(1, len(rounds[0])))
        verdict = "met" if best_s <= blog_s else "NOT met"
        print(f"\nTarget (pipeline no slower than the blog chain with -j{args.jobs}): {verdict} "
              f"(best: {best}, {best_s:.1f} s vs {blog_s:.1f} s, ratio {blog_s / best_s:.2f})")
        if parity is not None:
            print(f"\nSegment engines on the converted corpus ({parity['lines']} lines, "
                  f"`{parity['command']}`): {parity['differing_lines']} differing lines")
        if args.json:
            args.json.write_text(json.dumps({
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": machine(), "revision": revision(args.repo), "argv": sys.argv,
                "xml_bytes": xml_bytes, "repeat": repeat,
                "rounds": [[r.__dict__ for r in runs] for runs in rounds],
                "fixed_cost": fixed.__dict__, "parity": parity,
            }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        if args.keep or args.workdir:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
