"""File in, file out: the text stages as the CLI and the workflow run them.

Each function streams ``input`` to ``output`` (``-`` for stdin/stdout) in the same format
(plain text or JSON lines), writes the output atomically, and returns the stage's counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from time import perf_counter

from ..progress import Progress
from ..stats import StageStats
from ..textio import DecodeCounter, Record, RejectLog, atomic_output, detect_format, format_record, read_records
from .clean import clean_records, load_rules
from .convert import DEFAULT_ENGINE, check_engine, convert_records, make_converter
from .extract import chunk_docs
from .segment import ENGINES as SEGMENT_ENGINES
from .segment import segment_records

Transform = Callable[[Iterable[Record], StageStats], Iterator[Record]]


def run_stage(stage: str, input: str, output: str, transform: Transform, fmt: str = "auto",
              rejects: RejectLog | None = None, progress: Progress | None = None) -> StageStats:
    stats = StageStats(stage)
    run_chain(input, output, [(stats, transform)], fmt, progress)
    if rejects is not None:
        rejects.write()
    return stats


def run_chain(input: str, output: str, stages: list[tuple[StageStats, Transform]],
              fmt: str = "auto", progress: Progress | None = None) -> None:
    """Stream ``input`` through several stages in one process, into ``output``.

    Each stage times its own work (``StageStats.seconds``), so per-stage figures hold whether
    the stages run as separate jobs or chained here. Invalid UTF-8 counts go to the first stage.
    """
    # with a pipe on one side, the named file says what the format is
    in_fmt = detect_format(input if input != "-" else output, fmt)
    out_fmt = detect_format(output, fmt) if output != "-" else in_fmt
    if in_fmt != out_fmt:
        raise ValueError(f"{input} is {in_fmt} but {output} is {out_fmt}; use the same format")
    decode = DecodeCounter()
    records: Iterator[Record] = read_records(input, in_fmt, decode, progress)
    _write_through(records, stages, output, out_fmt)
    if decode.invalid_bytes:
        first = stages[0][0]
        first.counters["invalid_utf8_bytes_dropped"] += decode.invalid_bytes
        first.counters["lines_with_invalid_utf8"] += decode.lines_with_invalid_bytes


def _write_through(records: Iterator[Record], stages: list[tuple[StageStats, Transform]],
                   output: str, fmt: str) -> None:
    """``records`` through the stages, in order, into ``output`` (atomically)."""
    for stats, transform in stages:
        records = transform(records, stats)
    with atomic_output(output) as out:
        for rec in records:
            out.write(format_record(rec, fmt))
            out.write("\n")


def clean_file(input: str, output: str, rules_file: str | Path | None = None, fmt: str = "auto",
               rejects_path: str | None = None, keep_empty: bool = False,
               progress: Progress | None = None) -> StageStats:
    rules = load_rules(rules_file)
    rejects = RejectLog(rejects_path)
    source = "<stdin>" if input == "-" else str(input)
    return run_stage(
        "clean", input, output,
        lambda recs, st: clean_records(recs, st, rules, rejects, source, keep_empty),
        fmt, rejects, progress,
    )


def convert_file(input: str, output: str, config: str = "t2s", fmt: str = "auto",
                 progress: Progress | None = None, engine: str = DEFAULT_ENGINE) -> StageStats:
    check_engine(engine, config)  # refuse before any output is started
    return run_stage("convert", input, output,
                     lambda recs, st: convert_records(recs, st, config, engine), fmt, None, progress)


def segment_file(input: str, output: str, hmm: bool = True, user_dict: str | Path | None = None,
                 fmt: str = "auto", convert_tokens: str | None = None,
                 progress: Progress | None = None, engine: str = "rjieba",
                 keep_phrases: bool = True) -> StageStats:
    if convert_tokens:
        make_converter(convert_tokens)
    if engine not in SEGMENT_ENGINES:
        raise ValueError(f"unknown segmentation engine {engine!r}; choose one of {', '.join(SEGMENT_ENGINES)}")
    return run_stage("segment", input, output,
                     lambda recs, st: segment_records(recs, st, hmm, user_dict, convert_tokens, engine,
                                                      keep_phrases),
                     fmt, None, progress)


def _text_stages(rules_file: str | Path | None, rejects: RejectLog, source: str, opencc_config: str,
                 convert_engine: str, segment_engine: str, hmm: bool, user_dict: str | Path | None,
                 convert_tokens: bool, keep_phrases: bool = True) -> list[tuple[StageStats, Transform]]:
    """clean → convert → segment as chained transforms, settings checked before any output."""
    rules = load_rules(rules_file)
    check_engine(convert_engine, opencc_config)
    if segment_engine not in SEGMENT_ENGINES:
        raise ValueError(f"unknown segmentation engine {segment_engine!r}; choose one of {', '.join(SEGMENT_ENGINES)}")
    return [
        (StageStats("clean"), lambda recs, st: clean_records(recs, st, rules, rejects, source)),
        (StageStats("convert"), lambda recs, st: convert_records(recs, st, opencc_config, convert_engine)),
        (StageStats("segment"), lambda recs, st: segment_records(
            recs, st, hmm, user_dict, opencc_config if convert_tokens else None, segment_engine,
            keep_phrases)),
    ]


def process_file(input: str, output: str, rules_file: str | Path | None = None,
                 rejects_path: str | None = None, opencc_config: str = "t2s",
                 convert_engine: str = DEFAULT_ENGINE, segment_engine: str = "rjieba", hmm: bool = True,
                 user_dict: str | Path | None = None, convert_tokens: bool = False,
                 fmt: str = "auto", progress: Progress | None = None,
                 keep_phrases: bool = True) -> list[StageStats]:
    """clean → convert → segment in one streaming pass (one process start per chunk, not three)."""
    rejects = RejectLog(rejects_path)
    source = "<stdin>" if input == "-" else str(input)
    stages = _text_stages(rules_file, rejects, source, opencc_config, convert_engine, segment_engine,
                          hmm, user_dict, convert_tokens, keep_phrases)
    run_chain(input, output, stages, fmt, progress)
    rejects.write()
    return [stats for stats, _ in stages]


def _timed(items: Iterator[dict], stats: StageStats) -> Iterator[dict]:
    """``items``, with the time spent producing them added to ``stats.seconds``."""
    while True:
        started = perf_counter()
        try:
            item = next(items)
        except StopIteration:
            stats.seconds += perf_counter() - started
            return
        stats.seconds += perf_counter() - started
        yield item


def process_dump_chunk(dump: str | Path, index: str | Path | None, chunk: int, chunks: int, output: str,
                       extract_engine: str = "wikiextractor", rules_file: str | Path | None = None,
                       rejects_path: str | None = None, opencc_config: str = "t2s",
                       convert_engine: str = DEFAULT_ENGINE, segment_engine: str = "rjieba",
                       hmm: bool = True, user_dict: str | Path | None = None,
                       convert_tokens: bool = False,
                       progress: Progress | None = None, fmt: str = "auto",
                       keep_phrases: bool = True) -> list[StageStats]:
    """extract → clean → convert → segment for one chunk of a ``.bz2`` dump, in one process.

    The chunk's bz2 streams (multistream) or blocks (single-stream) are decompressed and their articles go straight through the text
    stages into ``output`` with no intermediate file: the same bytes as ``prep extract --chunk``
    followed by ``prep process``, without writing and reading the extracted chunk, and with one
    process start instead of two. Cleaning rejects name the page by its id and title, in columns
    of their own (the dump in the source column; the line column empty).

    ``output`` is JSON lines (id, title, text) for a ``.jsonl`` name or stdout, else plain text,
    one document per line: a chunk is a contiguous run of the dump's pages, so the corpus is
    its chunks' text concatenated, with no JSON to write or read (what the workflow does).
    """
    out_fmt = "jsonl" if output == "-" and fmt == "auto" else detect_format(output, fmt)
    rejects = RejectLog(rejects_path, lines=False)
    stages = _text_stages(rules_file, rejects, str(dump), opencc_config, convert_engine,
                          segment_engine, hmm, user_dict, convert_tokens, keep_phrases)
    extract = StageStats("extract")
    docs = _timed(chunk_docs(dump, index, chunk, chunks, extract, 1, extract_engine, progress),
                  extract)
    _write_through((Record(doc["text"], doc["id"], doc) for doc in docs), stages, output, out_fmt)
    extract.docs_out = stages[0][0].docs_in
    extract.chars_out = stages[0][0].chars_in
    extract.bytes_out = stages[0][0].bytes_in
    rejects.write()
    return [extract] + [stats for stats, _ in stages]
