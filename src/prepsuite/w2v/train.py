"""Training gensim word2vec on the corpus file, in gensim's multi-core ``corpus_file`` mode.

``corpus_file`` mode reads the file in C, one thread per worker over its own byte range, with no
Python iterator and no job queue in between, so throughput scales with the workers where the
iterator mode stalls at a few threads. Its one cost: there is no progress report inside an
epoch, so progress is shown per epoch (gensim callbacks), with words per second.

Reproducibility: the initial vectors come from numpy's generator seeded with ``seed`` and the
training randomness from a generator seeded the same way, so one worker and a fixed seed give the
same vectors on every run — whatever ``PYTHONHASHSEED`` is, because gensim 4 no longer derives
initial vectors from Python's salted ``hash`` (its ``hashfxn`` only feeds the deprecated
``seeded_vector``; tests/test_w2v_train.py checks two different hash seeds). With several
workers the threads update shared weights in whatever order they run, so vectors differ slightly
from run to run, as with every Hogwild-style word2vec.

Outputs in ``outdir``, each renamed into place from a temporary directory beside them, with
``train.json`` removed first and written last — so a ``train.json`` means the set is complete:

* ``word2vec.model`` — the gensim model (``Word2Vec.load``; training can continue),
* ``vectors.kv`` — its ``KeyedVectors`` (``KeyedVectors.load``; smaller, query only),
* ``vectors.txt`` — word2vec text format, for tools outside gensim,
* ``train.json`` — hyper-parameters, corpus and vocabulary size, seconds and words/s per epoch.

Each is one file (no ``.npy`` side files), so the workflow can name its outputs. gensim's
``lifecycle_events`` log (timestamps, temporary paths) is not saved — ``train.json`` records the
run — so with one worker ``vectors.kv`` and ``vectors.txt`` are the same bytes on every run;
``word2vec.model`` also holds gensim's training clock.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..textio import InputError, line_blocks, write_json
from ..wording import counted

MODEL_FILE = "word2vec.model"
KV_FILE = "vectors.kv"
TEXT_FILE = "vectors.txt"
REPORT_FILE = "train.json"
OUTPUT_FILES = (MODEL_FILE, KV_FILE, TEXT_FILE, REPORT_FILE)


@dataclass(frozen=True)
class TrainParams:
    """word2vec hyper-parameters; the defaults are gensim's, except ``workers`` (all cores)."""

    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    sg: bool = False  # skip-gram; False means CBOW
    negative: int = 5
    epochs: int = 5
    workers: int = 0  # 0: one per core
    seed: int = 1
    #: leave out tokens made only of punctuation and symbols (，。“” …)
    drop_punctuation: bool = False
    #: a file of words to leave out, one per line ("" for none)
    stopwords: str = ""

    def __post_init__(self) -> None:
        for name in ("vector_size", "window", "min_count", "negative", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"workers must be an integer >= 0 (0: one per core), got {self.workers!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {self.seed!r}")

    def resolved_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch: every corpus word is read once per epoch."""

    epoch: int  # 1-based
    epochs: int
    seconds: float
    words: int

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "seconds": round(self.seconds, 4),
                "words_per_second": round(self.words_per_second)}


@dataclass
class TrainResult:
    """What ``train.json`` holds."""

    corpus: str
    outdir: str
    params: TrainParams
    workers: int
    words: int
    vocabulary: int
    vocab_seconds: float
    train_seconds: float
    effective_words: int
    epochs: list[EpochReport] = field(default_factory=list)
    #: tokens left out before training (drop_punctuation, stopwords)
    dropped_tokens: int = 0
    #: the trained gensim model (not part of train.json)
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def words_per_second(self) -> float:
        """Corpus words per second of training (every epoch reads every word)."""
        total = self.words * len(self.epochs)
        return total / self.train_seconds if self.train_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        import gensim

        return {
            "corpus": self.corpus,
            "params": asdict(self.params) | {"workers": self.workers},
            "deterministic": self.workers == 1,
            "gensim": gensim.__version__,
            "words": self.words,
            "dropped_tokens": self.dropped_tokens,
            "vocabulary": self.vocabulary,
            "vocab_seconds": round(self.vocab_seconds, 4),
            "train_seconds": round(self.train_seconds, 4),
            "words_per_second": round(self.words_per_second),
            "effective_words": self.effective_words,
            "effective_words_per_second": round(self.effective_words / self.train_seconds)
            if self.train_seconds > 0 else 0,
            "epochs": [e.to_dict() for e in self.epochs],
            "outputs": list(OUTPUT_FILES),
        }

    def summary(self) -> str:
        return (
            f"w2v: {self.vocabulary:,} words in the vocabulary (min_count {self.params.min_count}) "
            f"from {self.words:,} corpus words; {counted(len(self.epochs), 'epoch')} in {self.train_seconds:.2f} s "
            f"with {self.workers} worker{'s' if self.workers != 1 else ''}, "
            f"{self.words_per_second:,.0f} words/s; wrote {', '.join(OUTPUT_FILES)} to {self.outdir}"
        )


def _epoch_clock(epochs: int, words: int, reports: list[EpochReport],
                 on_epoch: Callable[[EpochReport], None] | None) -> Any:
    """A gensim callback timing each epoch (gensim is imported only when training)."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochClock(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.start = 0.0

        def on_epoch_begin(self, model: Any) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            report = EpochReport(len(reports) + 1, epochs, time.perf_counter() - self.start, words)
            reports.append(report)
            if on_epoch is not None:
                on_epoch(report)

    return EpochClock()


def _check_corpus(corpus: Path) -> None:
    if not corpus.is_file():
        raise InputError(f"{corpus}: no such file (the corpus: one document per line, words separated by spaces)")
    if corpus.suffix in (".gz", ".bz2", ".jsonl"):
        raise InputError(f"{corpus}: gensim's corpus_file mode reads plain text only (one document per line)")


# Whitespace to Python's str.split but not to C's: gensim builds the vocabulary with the first and
# trains with the second, so words separated by one of these would be counted but never trained.
_UNSPLIT_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_CHECK_BLOCK = 16 << 20


def check_corpus_text(corpus: Path) -> None:
    """Refuse a corpus gensim would read wrongly without a word: bytes that are not UTF-8 (its
    reader fails on them with no file or line) and words separated by non-ASCII whitespace (see
    ``_UNSPLIT_SPACE``). One streaming pass, a small cost next to training."""
    for lineno, block in line_blocks(corpus, _CHECK_BLOCK):
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as err:
            line = lineno + block.count(b"\n", 0, err.start)
            column = err.start - block.rfind(b"\n", 0, err.start)
            raise InputError(f"{corpus}: line {line}, byte {column}: not UTF-8 (a corpus is UTF-8 text)",
                             line=line) from None
        bad = _UNSPLIT_SPACE.search(text)
        if bad:
            line = lineno + text.count("\n", 0, bad.start())
            raise InputError(f"{corpus}: line {line}: U+{ord(bad.group()):04X} between words; gensim counts "
                             "the words it separates but trains on them as one (separate words with "
                             "ASCII spaces: `prep clean` does)", line=line)


def train_word2vec(
    corpus: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    params: TrainParams | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> TrainResult:
    """Train word2vec on ``corpus`` (plain text, words separated by spaces) into ``outdir``.

    ``on_epoch`` is called after every epoch (progress display). Raises :class:`InputError` for
    a missing corpus or one with no word frequent enough for the vocabulary.
    """

    params = params or TrainParams()
    corpus_path, out = Path(corpus), Path(outdir)
    _check_corpus(corpus_path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; give a directory for the outputs")
    check_corpus_text(corpus_path)
    stopwords = frozenset()
    if params.stopwords:
        from .filtering import load_stopwords

        stopwords = load_stopwords(params.stopwords)
    filtered = None
    dropped = 0
    if params.drop_punctuation or stopwords:
        from .filtering import filter_corpus

        out.mkdir(parents=True, exist_ok=True)
        filtered = out / ".w2v-filtered-corpus.txt"
        _seen, dropped = filter_corpus(corpus_path, filtered, params.drop_punctuation, stopwords)
    try:
        result = _train(corpus_path, filtered or corpus_path, out, params, on_epoch)
    finally:
        if filtered is not None:
            filtered.unlink(missing_ok=True)
    result.dropped_tokens = dropped
    save_outputs(result.model, out, result.to_dict())
    return result


def _train(corpus_path: Path, train_path: Path, out: Path, params: TrainParams,
           on_epoch: Callable[[EpochReport], None] | None) -> TrainResult:
    from gensim.models import Word2Vec

    workers = params.resolved_workers()
    model = Word2Vec(
        vector_size=params.vector_size, window=params.window, min_count=params.min_count,
        sg=int(params.sg), negative=params.negative, epochs=params.epochs, workers=workers,
        seed=params.seed,
    )
    start = time.perf_counter()
    model.build_vocab(corpus_file=str(train_path))
    vocab_seconds = time.perf_counter() - start
    words = int(model.corpus_total_words)
    if len(model.wv) == 0:
        raise InputError(
            f"{corpus_path}: no word occurs at least min_count={params.min_count} times "
            f"({words:,} words read); use a bigger corpus or a lower min_count"
        )
    reports: list[EpochReport] = []
    start = time.perf_counter()
    effective, _raw = model.train(
        corpus_file=str(train_path), total_words=words, epochs=params.epochs,
        callbacks=[_epoch_clock(params.epochs, words, reports, on_epoch)],
    )
    train_seconds = time.perf_counter() - start
    result = TrainResult(str(corpus_path), str(out), params, workers, words, len(model.wv),
                         vocab_seconds, train_seconds, int(effective), reports)
    result.model = model
    return result


def save_outputs(model: Any, outdir: Path, report: dict[str, Any]) -> None:
    """Write the four outputs into a temporary directory in ``outdir``, then rename them in."""
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".w2v-", dir=outdir))
    try:
        # Timestamps and temporary paths would make every saved file differ; train.json says it all.
        model.lifecycle_events = None
        model.wv.lifecycle_events = None
        model.save(str(tmp / MODEL_FILE), separately=[])
        model.wv.save(str(tmp / KV_FILE), separately=[])
        model.wv.save_word2vec_format(str(tmp / TEXT_FILE), binary=False)
        write_json(tmp / REPORT_FILE, report)
        (outdir / REPORT_FILE).unlink(missing_ok=True)
        for name in OUTPUT_FILES:  # train.json last: its presence means the set is complete
            os.replace(tmp / name, outdir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
