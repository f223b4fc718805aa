"""Word segmentation: jieba's accurate mode, optionally driven by rjieba (its Rust port).

The output is the token sequence of ``python -m jieba -d " "`` with whitespace tokens dropped,
so words are separated by exactly one space whatever spacing the input had.

Engines:

* ``jieba``: jieba itself, about 1 MB/s per core.
* ``rjieba`` (default): the same tokens, an order of magnitude faster. rjieba uses jieba's
  dictionary and algorithm and gives the same tokens on runs of Chinese characters, letters and
  digits; it differs only where jieba's HMM step splits ASCII punctuation inside a run (jieba cuts
  ``5-16`` into ``5 - 16`` and ``J.G`` into ``J . G``, rjieba keeps them whole). So the jieba blocks
  holding ``+ # & . _ % -`` go to jieba and the text between them to rjieba: the result equals
  jieba's, token for token (tested line by line on the sample and benchmark corpora).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from time import perf_counter

from ..stats import StageStats
from ..textio import Record

log = logging.getLogger(__name__)

ENGINES = ("rjieba", "jieba")

# jieba cuts text into blocks of [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] (jieba.re_han_default);
# inside a block, these characters are where rjieba's result differs.
_JIEBA_ONLY = re.compile(r"[+#&._%\-]")

Cut = Callable[[str], Iterable[str]]


def make_tokenizer(user_dict: str | Path | None = None):
    """A private jieba tokenizer (the global one is shared by every caller in the process)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dict:
        path = Path(user_dict)
        if not path.is_file():
            raise ValueError(f"{path}: user dictionary not found")
        tokenizer.load_userdict(str(path))
    return tokenizer


def make_cutter(engine: str = "rjieba", hmm: bool = True,
                user_dict: str | Path | None = None) -> tuple[Cut, str]:
    """A function text → tokens, and the engine actually used.

    rjieba cannot load jieba's user-dictionary files the way jieba does (words without a
    frequency get one computed by jieba), so a user dictionary falls back to jieba, with a
    logged notice.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown segmentation engine {engine!r}; choose one of {', '.join(ENGINES)}")
    tokenizer = make_tokenizer(user_dict)
    if engine == "rjieba" and user_dict:
        log.warning("segment: rjieba cannot honour --user-dict; using jieba (same tokens, slower)")
        engine = "jieba"
    if engine == "rjieba":
        try:
            import rjieba
        except ImportError:
            raise ValueError("segmentation engine 'rjieba' is not installed (pip install rjieba); "
                             "or choose engine 'jieba'") from None
        return _hybrid_cut(rjieba.Jieba(), tokenizer, hmm), "rjieba"
    return (lambda text: tokenizer.cut(text, HMM=hmm)), "jieba"


def _in_block(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fd5" or ch in _BLOCK_ASCII


_BLOCK_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#&._%-")


def jieba_only_spans(text: str) -> list[tuple[int, int]]:
    """The jieba blocks of ``text`` that hold ``+ # & . _ % -`` (where rjieba differs)."""
    spans: list[tuple[int, int]] = []
    for m in _JIEBA_ONLY.finditer(text):
        start = m.start()
        if spans and start < spans[-1][1]:
            continue  # inside the block found already
        end = m.end()
        while start > 0 and _in_block(text[start - 1]):
            start -= 1
        while end < len(text) and _in_block(text[end]):
            end += 1
        spans.append((start, end))
    return spans


def _hybrid_cut(fast, tokenizer, hmm: bool) -> Cut:
    """rjieba on everything but the blocks where it differs from jieba; jieba on those."""
    fast_cut = fast.cut
    cache: dict[str, list[str]] = {}  # such blocks repeat a lot: "历史.", "C++", years "1990-1995"

    def slow_cut(block: str) -> list[str]:
        tokens = cache.get(block)
        if tokens is None:
            tokens = list(tokenizer.cut(block, HMM=hmm))
            if len(cache) < 1_000_000:
                cache[block] = tokens
        return tokens

    def cut(text: str) -> Iterator[str]:
        pos = 0
        for start, end in jieba_only_spans(text):
            if start > pos:
                yield from fast_cut(text[pos:start], hmm)
            yield from slow_cut(text[start:end])
            pos = end
        if pos < len(text):
            yield from fast_cut(text[pos:] if pos else text, hmm)

    return cut


def join_tokens(tokens: Iterable[str]) -> str:
    return " ".join(t for t in tokens if t and not t.isspace())


def segment_text(text: str, tokenizer=None, hmm: bool = True) -> str:
    """jieba's tokens for ``text`` (``tokenizer`` is a jieba tokenizer, made if not given)."""
    tokenizer = tokenizer if tokenizer is not None else make_tokenizer()
    return join_tokens(tokenizer.cut(text, HMM=hmm))


def segment_records(records: Iterable[Record], stats: StageStats, hmm: bool = True,
                    user_dict: str | Path | None = None, convert_tokens: str | None = None,
                    engine: str = "rjieba") -> Iterator[Record]:
    """Segment every document; one document out per document in (line count preserved).

    ``convert_tokens`` (an OpenCC config) converts each token after segmentation, so that the
    output is unchanged by converting it again (see :class:`~.convert.TokenConverter`).
    """
    cut, used = make_cutter(engine, hmm, user_dict)
    stats.counters[f"engine_{used}"] = 1
    convert = None
    if convert_tokens:
        from .convert import TokenConverter

        convert = TokenConverter(convert_tokens)
    for rec in records:
        started = perf_counter()
        stats.count_in(rec.text)
        tokens = cut(rec.text)
        out = join_tokens(map(convert, tokens) if convert else tokens)
        stats.count_out(out)
        stats.seconds += perf_counter() - started
        yield rec.with_text(out)
