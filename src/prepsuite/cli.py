"""``prep``: the command-line face of the library. Every command is a thin shell around one
library function with options of the same names; user errors end in one clear line, not a
traceback."""

from __future__ import annotations

import functools
import gc
import inspect
import logging
import os
import signal
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from .progress import byte_progress
from .stats import StageStats
from .textio import InputError, check_output_path, write_json

app = typer.Typer(
    no_args_is_help=True,
    # `prep --install-completion` / `--show-completion`: bash, zsh, fish and PowerShell
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain text: "[freq]" and "offset:id:title" stay as typed
    context_settings={"help_option_names": ["-h", "--help"]},
)
#: Progress bars and summaries (silenced by -q). Errors go to `errors`, which -q leaves alone.
err = Console(stderr=True)
errors = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to whatever sys.stderr is at the time (a test runner swaps it per command)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class Verbosity:
    """-q / -v, given before the command (`prep -q pack …`) or after it (`prep pack … -q`)."""

    quiet = False
    verbose = 0
    _handler: Optional[logging.Handler] = None

    @classmethod
    def apply(cls, quiet: bool, verbose: int, reset: bool = False) -> None:
        """Adds the command's -q/-v to those given before it (`reset`: the latter, first)."""
        root = logging.getLogger()
        if reset:
            cls.quiet, cls.verbose = False, 0
            if cls._handler is not None:  # an earlier command line's, in this process (tests)
                root.removeHandler(cls._handler)
                root.setLevel(logging.WARNING)
                cls._handler = None
        cls.quiet, cls.verbose = cls.quiet or quiet, max(cls.verbose, verbose)
        err.quiet = cls.quiet
        if cls.verbose and not cls.quiet:
            if cls._handler is None:
                cls._handler = _StderrHandler()
                cls._handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
                root.addHandler(cls._handler)
            root.setLevel(logging.DEBUG if cls.verbose > 1 else logging.INFO)


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars and no summary; errors are still reported.")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, show_default=False, help="-v: also show what the libraries log (gensim, jieba); -vv: debug messages and the traceback of an error.")]
_EXTRA_PARAMS = [
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=0, annotation=VerboseOpt),
]


def user_errors(fn: F) -> F:
    """Turn the library's input errors into ``prep: error: …`` and exit status 1, and give the
    command the -q/--quiet and -v/--verbose options every command has (unless it has its own)."""
    signature = inspect.signature(fn, eval_str=True)
    extra = [p for p in _EXTRA_PARAMS if p.name not in signature.parameters]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {p.name: kwargs.pop(p.name, p.default) for p in extra}
        Verbosity.apply(bool(given.get("quiet", kwargs.get("quiet", False))), int(given.get("verbose", 0)))
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            # the reader of stdout went away (`prep convert big.txt - | head`): not an error of
            # the input; click ends the command quietly, with status 1
            raise
        except (InputError, ValueError, OSError) as e:
            if Verbosity.verbose > 1:
                errors.print_exception()
            errors.print(f"[bold red]prep: error:[/] {escape(str(e))}", highlight=False, markup=True,
                         soft_wrap=True)
            raise typer.Exit(code=1) from None

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra])
    wrapper.__annotations__ = {**fn.__annotations__, **{p.name: p.annotation for p in extra}}
    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"prep (prepsuite) {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """prepsuite: reproducible, parallel, resumable data preparation.

    Every command takes -h (its help), -q and -v; outputs are named with -o/--out, '-' for
    stdout where the output is a stream of lines. `prep COMMAND -h` shows each one's defaults.
    """
    Verbosity.apply(quiet, verbose, reset=True)


def file_size(path: str) -> int | None:
    return os.path.getsize(path) if path != "-" and os.path.isfile(path) else None


def report(stats: StageStats, stats_path: Optional[Path]) -> None:
    err.print(stats.summary(), highlight=False)
    if stats_path is not None:
        write_json(stats_path, stats.to_dict())


class Engine(str, Enum):
    wikiextractor = "wikiextractor"
    fast = "fast"
    gensim = "gensim"


class Headings(str, Enum):
    keep = "keep"
    drop = "drop"


HeadingsOpt = Annotated[Headings, typer.Option(help="Section headings (== 歷史 ==): keep their text as a line of its own (no trailing '.'), or drop them.")]


class ConvertEngine(str, Enum):
    pyo3 = "pyo3"
    python = "python"
    cpp = "cpp"


class SegmentEngine(str, Enum):
    rjieba = "rjieba"
    jieba = "jieba"


class Format(str, Enum):
    auto = "auto"
    text = "text"
    jsonl = "jsonl"


InputArg = Annotated[str, typer.Argument(help="Input file: plain text (one document per line) or .jsonl (the 'text' field); '-' reads stdin.")]
OutputArg = Annotated[Optional[str], typer.Argument(show_default=False, help="The output, as -o/--out gives it (the older spelling).")]
OutOpt = Annotated[Optional[str], typer.Option("--out", "-o", help="Output file in the input's format, written atomically; '-' writes stdout.")]


def the_output(positional: Optional[str], option: Optional[str]) -> str:
    """The output named by -o/--out or, as older command lines do, by a second argument."""
    if positional is not None and option is not None and positional != option:
        raise typer.BadParameter(f"the output is named twice ({positional} and {option}); give -o/--out only",
                                 param_hint="'-o/--out'")
    out = option if option is not None else positional
    if out is None:
        raise typer.BadParameter("no output: name it with -o/--out FILE ('-' writes stdout)", param_hint="'-o/--out'")
    return out
FormatOpt = Annotated[Format, typer.Option("--format", help="Line format; 'auto' means .jsonl files are JSON lines and anything else plain text.")]
RulesOpt = Annotated[Optional[Path], typer.Option("--rules", help="YAML file of extra regex rules (name, pattern, replace, description, before).")]
ChunksOpt = Annotated[str, typer.Option(metavar="N|auto", help="Number of chunk files, or auto (the workflow's default): one per CPU of this machine, more for a big dump, fewer for a tiny one, the planned count with a plan as --index. Article k goes to chunk k mod chunks; a .bz2 dump split into streams or blocks: chunk k holds the k-th run of them. Give a number when jobs on several machines must agree.")]


def chunk_count(value: str, dump: Path, index: Optional[Path]) -> int:
    """--chunks as a number: an integer >= 1, or `auto` resolved as the workflow resolves it."""
    from .text.chunks import is_auto, resolve_chunks

    if is_auto(value):
        from .text.multistream import is_plan, planned_chunks

        return (planned_chunks(index) if index is not None and is_plan(index) else None) or resolve_chunks("auto", dump)
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise typer.BadParameter(f"{value!r} is neither an integer >= 1 nor auto", param_hint="'--chunks'")
    return count


def _output_file(value: Optional[Path]) -> Optional[Path]:
    """Checks a side output's path when the command line is read, before any work."""
    if value is not None:
        try:
            check_output_path(value)
        except InputError as e:
            raise typer.BadParameter(str(e)) from None
    return value


RejectsOpt = Annotated[Optional[Path], typer.Option("--rejects", callback=_output_file, help="Write documents dropped by cleaning (source, line, reason) to this TSV file.")]
OpenCCOpt = Annotated[str, typer.Option("--config", help="OpenCC conversion config: t2s, tw2s (Taiwan), hk2s (Hong Kong) or tw2sp (Taiwan, with mainland phrases).")]
HmmOpt = Annotated[bool, typer.Option("--hmm/--no-hmm", help="Let jieba's HMM find words missing from its dictionary.")]
KeepPhrasesOpt = Annotated[bool, typer.Option("--keep-phrases/--split-phrases", help="Join tokens that spell one of OpenCC's phrases whose conversion decided a character (毕 昇 → 毕昇), so names stay whole; --split-phrases leaves jieba's tokens exactly as they are.")]
UserDictOpt = Annotated[Optional[Path], typer.Option("--user-dict", help="jieba user dictionary (lines: word [freq] [tag]).")]
StatsOpt = Annotated[Optional[Path], typer.Option("--stats", callback=_output_file, help="Also write the stage's counters (documents, characters, rejects, seconds, MB/s) to this JSON file.")]


@app.command()
@user_errors
def extract(
    dump: Annotated[Path, typer.Argument(help="MediaWiki XML dump, .xml.bz2 or .xml (e.g. zhwiki-latest-pages-articles.xml.bz2).")],
    outdir: Annotated[Optional[Path], typer.Argument(show_default=False, help="The output directory, as -o/--out gives it (the older spelling).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory for the chunk files (JSON lines: id, title, text).")] = None,
    chunks: ChunksOpt = "auto",
    engine: Annotated[Engine, typer.Option(help="wikiextractor (default); fast (prepsuite's own regex converter, several times faster); or gensim's WikiCorpus with a tokenizer that keeps all Chinese text.")] = Engine.wikiextractor,
    processes: Annotated[int, typer.Option(min=0, help="Worker processes for the engine; 0 means one per core.")] = 0,
    name_template: Annotated[str, typer.Option(help="Chunk file name; may use {index} (0-based), {number} (1-based) and {total}.")] = "chunk-{index:03d}.jsonl",
    index: Annotated[Optional[Path], typer.Option(help="Index of a multistream dump (lines offset:id:title), or the plan `prep plan` wrote (.json; the index is then not read again). Found automatically beside a *-multistream.xml.bz2 dump; with it, chunk k is the k-th run of bz2 streams.")] = None,
    chunk: Annotated[Optional[int], typer.Option(min=1, help="Extract just chunk K of --chunks (1-based), decompressing only its own part of a .bz2 dump: its streams (multistream, with the index) or its bz2 blocks (single-stream).")] = None,
    headings: HeadingsOpt = Headings.keep,
    stats: StatsOpt = None,
) -> None:
    """Extract the articles of a wiki dump into JSON-lines chunks.

    Example: prep extract zhwiki-latest-pages-articles.xml.bz2 -o extracted/ --chunks 8
    """
    from .text.extract import chunk_paths, extract_chunks, extract_dump, set_headings
    from .text.multistream import check_splittable, index_for

    set_headings(headings.value)
    outdir = Path(the_output(None if outdir is None else str(outdir), None if out is None else str(out)))
    chunks = chunk_count(chunks, dump, index)
    outputs = chunk_paths(outdir, chunks, name_template)
    if engine == Engine.gensim:  # WikiCorpus reads the whole dump (a multistream one too)
        if index is not None or chunk is not None:
            raise ValueError("--engine gensim reads the whole dump itself: no --index or --chunk")
    else:
        index = index or index_for(dump)
    if chunk is not None and index is None:
        check_splittable(dump)
    if index is None and chunk is None:
        with byte_progress(f"extract {dump.name}", file_size(str(dump)), err) as progress:
            result = extract_dump(dump, outputs, engine.value, processes or os.cpu_count(), progress)
        report(result, stats)
        return
    if chunk is not None and chunk > chunks:
        raise ValueError(f"--chunk {chunk} is beyond --chunks {chunks}")
    from .text.multistream import chunk_sizes

    todo = [chunk - 1] if chunk is not None else list(range(chunks))
    # a bar's total reads the index once more: only when a bar is drawn (not in workflow jobs)
    every = chunk_sizes(dump, index, chunks) if err.is_terminal else [0] * chunks
    before = [sum(every[j] for j in todo if j < k) for k in range(chunks)]  # bytes of the chunks done first
    with byte_progress(f"extract {dump.name}", sum(every[k] for k in todo), err) as progress:
        advance = (lambda k, done: progress(before[k] + done)) if progress else None
        result = extract_chunks(dump, index, todo, chunks, outputs, processes or os.cpu_count(),
                                engine.value, advance)
    report(result, stats)


@app.command()
@user_errors
def clean(
    input: InputArg,
    output: OutputArg = None,
    out: OutOpt = None,
    rules: RulesOpt = None,
    rejects: RejectsOpt = None,
    keep_empty: Annotated[bool, typer.Option("--keep-empty", help="Keep documents that are empty after cleaning, so the line count is preserved.")] = False,
    format: FormatOpt = Format.auto,
    stats: StatsOpt = None,
) -> None:
    """Apply the cleaning rules (see `prep rules`) to every document.

    Example: prep clean extracted.txt -o cleaned.txt --rejects rejects.tsv
    """
    output = the_output(output, out)
    from .text.files import clean_file

    with byte_progress("clean", file_size(input), err) as progress:
        report(clean_file(input, output, rules, format.value, str(rejects) if rejects else None,
                          keep_empty, progress), stats)


@app.command()
@user_errors
def convert(
    input: InputArg,
    output: OutputArg = None,
    out: OutOpt = None,
    config: OpenCCOpt = "t2s",
    engine: Annotated[ConvertEngine, typer.Option(help="pyo3: opencc-pyo3, OpenCC in Rust (the default, as in the workflow; the fastest); python: opencc-python-reimplemented (~1 MB/s); cpp: OpenCC's C++ library, installed apart by setup.sh. Scores and speeds: docs/benchmarks.md.")] = ConvertEngine.pyo3,
    format: FormatOpt = Format.auto,
    stats: StatsOpt = None,
) -> None:
    """Convert traditional Chinese to simplified with OpenCC, line for line.

    Example: prep convert cleaned.txt -o simplified.txt --config t2s
    """
    output = the_output(output, out)
    from .text.files import convert_file

    with byte_progress("convert", file_size(input), err) as progress:
        report(convert_file(input, output, config, format.value, progress, engine.value), stats)


@app.command()
@user_errors
def segment(
    input: InputArg,
    output: OutputArg = None,
    out: OutOpt = None,
    hmm: HmmOpt = True,
    user_dict: UserDictOpt = None,
    keep_phrases: KeepPhrasesOpt = True,
    engine: Annotated[SegmentEngine, typer.Option(help="rjieba: jieba's tokens, computed mostly by its Rust port (several times faster); jieba: jieba itself.")] = SegmentEngine.rjieba,
    convert_tokens: Annotated[Optional[str], typer.Option(help="Also pass each token through this OpenCC config, for input that was not converted before segmenting. Off by default: on converted text it damages names that OpenCC converts only as phrases (毕昇 split as 毕 昇 becomes 毕 升).")] = None,
    format: FormatOpt = Format.auto,
    stats: StatsOpt = None,
) -> None:
    """Segment words with jieba's accurate mode, joined by single spaces, line for line.

    Example: prep segment simplified.txt -o segmented.txt

    In a pipe: prep clean my.txt -o - | prep convert - -o - | prep segment - -o words.txt
    """
    output = the_output(output, out)
    from .text.files import segment_file

    with byte_progress("segment", file_size(input), err) as progress:
        report(segment_file(input, output, hmm, user_dict, format.value, convert_tokens, progress,
                            engine.value, keep_phrases), stats)


@app.command()
@user_errors
def process(
    input: InputArg,
    output: OutputArg = None,
    out: OutOpt = None,
    rules: RulesOpt = None,
    rejects: RejectsOpt = None,
    config: OpenCCOpt = "t2s",
    convert_engine: Annotated[ConvertEngine, typer.Option(help="Conversion engine (see `prep convert --help`).")] = ConvertEngine.pyo3,
    segment_engine: Annotated[SegmentEngine, typer.Option(help="Segmentation engine (see `prep segment --help`).")] = SegmentEngine.rjieba,
    hmm: HmmOpt = True,
    user_dict: UserDictOpt = None,
    keep_phrases: KeepPhrasesOpt = True,
    convert_tokens: Annotated[bool, typer.Option("--convert-tokens/--no-convert-tokens", help="Convert each token again after segmentation (off: the text is converted phrase by phrase before segmenting, and converting single tokens again would damage names such as 毕昇 → 毕 升).")] = False,
    format: FormatOpt = Format.auto,
    chunk: Annotated[Optional[int], typer.Option(min=1, help="INPUT is a .bz2 dump: extract chunk K of --chunks (1-based) from its own bz2 streams (multistream) or blocks (single-stream) and run it through the three stages in this one process, with no intermediate file. The output (-o): JSON lines (id, title, text) for a .jsonl name or '-', else plain text (one document per line, what `prep gather` concatenates).")] = None,
    chunks: Annotated[int, typer.Option(min=1, help="With --chunk: how many chunks the dump is split into.")] = 1,
    index: Annotated[Optional[Path], typer.Option(help="With --chunk: the multistream index (found beside a *-multistream.xml.bz2 dump if not given), or the plan `prep plan` wrote (.json: what workflow jobs read, so the index is read once, not per job). Without either, a .bz2 dump is cut at its bz2 block boundaries.")] = None,
    extract_engine: Annotated[Engine, typer.Option(help="With --chunk: extraction engine, wikiextractor or fast (see `prep extract --help`).")] = Engine.wikiextractor,
    headings: Annotated[Headings, typer.Option(help="With --chunk: section headings kept as plain text or dropped (see `prep extract --help`).")] = Headings.keep,
    stats: Annotated[Optional[Path], typer.Option("--stats", callback=_output_file, help="Write the stages' counters to this JSON file (a list; with --chunk the extraction comes first).")] = None,
) -> None:
    """Clean, convert and segment in one streaming pass (what the workflow runs per chunk).

    Example: prep process extracted/chunk-000.jsonl -o corpus-000.jsonl --rejects rejects.tsv

    Straight from a multistream dump (extraction too, one process per chunk):
    prep process zhwiki-latest-pages-articles-multistream.xml.bz2 -o corpus-1.jsonl --chunk 1 --chunks 2
    """
    output = the_output(output, out)
    from .text.files import process_dump_chunk, process_file

    if chunk is not None:
        from .text.extract import set_headings
        from .text.multistream import check_splittable, chunk_sizes, index_for

        set_headings(headings.value)
        if chunk > chunks:
            raise ValueError(f"--chunk {chunk} is beyond --chunks {chunks}")
        index = index or index_for(input)
        if index is None:
            check_splittable(input)
        if extract_engine == Engine.gensim:
            raise ValueError("--extract-engine gensim reads the whole dump itself, never one chunk of it; "
                             "use wikiextractor or fast, or `prep extract --engine gensim` then `prep process`")
        # a bar's total reads the index once more: only when a bar is drawn (not in workflow jobs)
        total = chunk_sizes(input, index, chunks)[chunk - 1] if err.is_terminal else None
        with byte_progress(f"process chunk {chunk}/{chunks}", total, err) as progress:
            results = process_dump_chunk(input, index, chunk - 1, chunks, output, extract_engine.value,
                                         rules, str(rejects) if rejects else None, config,
                                         convert_engine.value, segment_engine.value, hmm, user_dict,
                                         convert_tokens, progress, format.value, keep_phrases)
    else:
        with byte_progress("process", file_size(input), err) as progress:
            results = process_file(input, output, rules, str(rejects) if rejects else None, config,
                                   convert_engine.value, segment_engine.value, hmm, user_dict,
                                   convert_tokens, format.value, progress, keep_phrases)
    for result in results:
        err.print(result.summary(), highlight=False)
    if stats is not None:
        write_json(stats, [result.to_dict() for result in results])


@app.command()
@user_errors
def gather(
    chunks: Annotated[list[Path], typer.Argument(help="Segmented chunk files: JSON lines with id and text (merged on page id), or plain text, one document per line (multistream chunks, concatenated in the order given).")],
    output: Annotated[Path, typer.Option("--out", "-o", "--output", help="The corpus: one document per line, in dump order.")],
    stats_file: Annotated[Optional[list[Path]], typer.Option("--stats-file", help="Per-chunk stats JSON files to sum into --stats-output.")] = None,
    stats_output: Annotated[Optional[Path], typer.Option(callback=_output_file, help="Where to write the merged stats.json.")] = None,
    config_json: Annotated[Optional[str], typer.Option(help="JSON object of workflow settings to record in stats.json.")] = None,
    rejects_file: Annotated[Optional[list[Path]], typer.Option("--rejects-file", help="Per-chunk rejects files (prep clean/process --rejects) to put into --rejects-output, in the order given.")] = None,
    rejects_output: Annotated[Optional[Path], typer.Option(callback=_output_file, help="Where to write the chunks' rejects as one file (one header, every row).")] = None,
) -> None:
    """Merge segmented chunks into one corpus file (the workflow's last step).

    Example: prep gather results/segment/*.jsonl -o corpus.txt
    """
    import json

    from .text.gather import gather_corpus

    extra = {"config": json.loads(config_json)} if config_json else None
    if rejects_file and rejects_output is None:
        raise ValueError("--rejects-file needs --rejects-output (where the merged rejects go)")
    result = gather_corpus(list(chunks), output, list(stats_file or []), stats_output, extra,
                           list(rejects_file or []), rejects_output)
    err.print(result.summary(), highlight=False)


@app.command()
@user_errors
def plan(
    dump: Annotated[Path, typer.Argument(help="A .bz2 dump: multistream (*-pages-articles-multistream.xml.bz2, with its index) or single-stream.")],
    output: Annotated[Path, typer.Option("--out", "-o", "--output", help="The plan (JSON, written atomically): the byte ranges of every chunk.")],
    chunks: Annotated[str, typer.Option(metavar="N|auto", help="Number of chunks the dump is split into (contiguous runs of about equal compressed size), or auto: as the workflow's `chunks: auto`, one per CPU of this machine, more for a big dump, fewer for a tiny one.")] = "auto",
    index: Annotated[Optional[Path], typer.Option(help="The dump's index (lines offset:id:title); found beside a *-multistream.xml.bz2 dump if not given. Without one, the plan cuts the dump at its bz2 block boundaries.")] = None,
) -> None:
    """Split a .bz2 dump into chunks once and write where each chunk's data lies.

    A multistream dump's index is read once; a single-stream dump is cut where its bz2 blocks
    start. Chunk jobs given the plan as --index read only their own part of the dump (what the
    workflow does: one plan, then one job per chunk).

    Example: prep plan zhwiki-latest-pages-articles-multistream.xml.bz2 -o streams.json --chunks 64
    """
    from .text.multistream import check_splittable, index_for, write_plan

    chunks = chunk_count(chunks, dump, None)

    if not dump.is_file():
        raise InputError(f"{dump}: dump not found")
    index = index or index_for(dump)
    if index is None:
        check_splittable(dump)
    err.print(f"{write_plan(dump, index, chunks, output).summary()} -> {output}", highlight=False)


@app.command()
@user_errors
def rules(
    rules_file: Annotated[Optional[Path], typer.Option("--rules", help="Also show the rules of this YAML file, where they go.")] = None,
) -> None:
    """List the cleaning rules in the order they run.

    Example: prep rules
    """
    from .text.clean import describe_rules, load_rules

    for i, (name, description) in enumerate(describe_rules(load_rules(rules_file)), start=1):
        typer.echo(f"{i:2d}. {name:22s} {description}")


# --- commands of the other subsystems (each module adds its commands to `app`) ----------------
# (one line per subsystem below)
from .w2v import commands as _w2v_commands  # noqa: E402,F401
from .shards import commands as _shards_commands  # noqa: E402,F401
from . import inspection as _inspection_commands  # noqa: E402,F401
from .report import commands as _report_commands  # noqa: E402,F401


_MAIN_PID = -1  # the process that installed _stop


def _stop(signum: int, frame: object) -> None:
    if os.getpid() != _MAIN_PID:
        # a process forked from us that got SIGTERM before _default_sigterm ran in it: a pool's
        # worker, maybe holding the pool's queue lock; unwinding there would keep the lock and
        # hang the pool's other workers and the pool's terminate(). Die at once.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise SystemExit(128 + signum)


def _default_sigterm() -> None:
    """In a process forked from `prep` (a library's worker pool), SIGTERM kills at once again.

    A Python-level handler runs only between bytecodes: a SIGTERM that lands just before a
    worker blocks in C (waiting for its pool's queue lock) is noted and never acted on, and the
    pool's terminate() then waits for that worker for ever (gensim's WikiCorpus pool hung so).
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop_on_sigterm() -> None:
    """`kill` and cluster schedulers stop a job with SIGTERM (SLURM at a job's time limit).
    Raised as SystemExit it unwinds as Ctrl-C does: temporary outputs are removed."""
    global _MAIN_PID
    if _MAIN_PID == -1:
        os.register_at_fork(after_in_child=_default_sigterm)
    _MAIN_PID = os.getpid()
    signal.signal(signal.SIGTERM, _stop)


#: Young-generation size before the cycle collector runs (Python's default: 700 objects).
GC_YOUNG_THRESHOLD = 10_000


def fewer_gc_passes() -> None:
    """Let the cycle collector run far less often in this process.

    Why: a chunk job makes millions of short-lived objects (pages, records, token lists) that
    reference counting frees at once, yet at the default threshold the collector still ran some
    270 times per chunk of 65k articles, re-scanning the documents a batch holds: 0.08–0.12 s
    of a 4 s job. The objects made by the imports are frozen (never scanned again), and a
    young generation of 10,000 objects brings that to about 15 collections and 0.02 s.
    """
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def main() -> None:
    stop_on_sigterm()
    fewer_gc_passes()
    app()


if __name__ == "__main__":
    main()
