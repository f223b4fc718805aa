"""Word segmentation: jieba's accurate mode, optionally driven by rjieba (its Rust port).

The output is the token sequence of ``python -m jieba -d " "`` with whitespace tokens dropped,
so words are separated by exactly one space whatever spacing the input had; then tokens that
together spell one of OpenCC's name-like phrases are joined (毕 昇 → 毕昇, :mod:`.phrases`),
unless ``keep_phrases`` is off.

Engines:

* ``jieba``: jieba itself, about 1 MB/s per core.
* ``rjieba`` (default): the same tokens, an order of magnitude faster, and without jieba's
  0.7 s dictionary load per process. rjieba uses jieba's dictionary and algorithm and gives the
  same tokens on Chinese characters, letters and digits; it differs only on runs of non-Chinese
  characters holding ``+ # & . _ % -`` that are not dictionary words: jieba's HMM step splits them
  (``5-16`` → ``5 - 16``, ``J.G`` → ``J . G``), rjieba keeps them whole. Such a token is split
  again here by jieba's own rule, so the result equals jieba's token for token (tested line by
  line on the sample corpus and on thousands of random mixtures, HMM on and off).
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

# ASCII punctuation that jieba keeps inside its blocks (jieba.re_han_default): where rjieba differs
_JIEBA_ONLY = re.compile(r"[+#&._%\-]")
#: Python's whitespace (str.isspace, re's \s) but the space, spelt out (tested against
#: str.isspace): joined with _JIEBA_ONLY's characters it makes one character class, a single
#: scan of the text where a pattern of alternatives costs four tests at every character.
NON_SPACE_WHITESPACE = "\t\n\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# a character of _JIEBA_ONLY, or whitespace other than the single spaces between words
_JIEBA_ONLY_OR_ODD_SPACE = re.compile(f"[+#&._%\\-{NON_SPACE_WHITESPACE}]")

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
    if engine == "rjieba" and user_dict:
        log.warning("segment: rjieba cannot honour --user-dict; using jieba (same tokens, slower)")
        engine = "jieba"
    if engine == "rjieba":
        try:
            import rjieba
        except ImportError:
            raise ValueError("segmentation engine 'rjieba' is not installed (pip install rjieba); "
                             "or choose engine 'jieba'") from None
        # rjieba's module-level instance: its dictionary is loaded on import already (a second
        # Jieba() loads it again, 0.15 s per process); it is only read here, never changed
        shared = getattr(rjieba, "_DEFAULT_JIEBA", None)
        return _RjiebaCut(shared if shared is not None else rjieba.Jieba(), hmm), "rjieba"
    tokenizer = make_tokenizer(user_dict)
    return (lambda text: tokenizer.cut(text, HMM=hmm)), "jieba"


_CJK = re.compile("[\u4e00-\u9fd5]")
# What jieba does with a run of non-Chinese characters that is not a dictionary word:
# with HMM, finalseg splits it around [a-zA-Z0-9]+(\.\d+)?%? pieces; without, letters and
# digits stay together and every other character stands alone.
_HMM_PIECES = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_NO_HMM_PIECES = re.compile(r"[a-zA-Z0-9]+|.", re.S)


# a token of rjieba's that may need jieba's split (it holds one of _JIEBA_ONLY), in joined text
_CANDIDATE = re.compile(r"(?<!\S)(?=[^\s+#&._%\-]*[+#&._%\-])\S+")


class _RjiebaCut:
    """rjieba's tokens, with jieba's split of ASCII-punctuation runs restored.

    ``joined(text)`` gives the segmented line directly: the tokens are joined first and only the
    few that need jieba's split are looked at again (by a regex), so no Python code runs per
    token — that per-token loop used to cost three times rjieba's own time.
    """

    def __init__(self, fast, hmm: bool):
        self.fast_cut = fast.cut
        self.has_word = fast.has_word
        self.hmm = hmm

    def _split(self, token: str) -> list[str]:
        if self.hmm:
            return [piece for piece in _HMM_PIECES.split(token) if piece]
        return _NO_HMM_PIECES.findall(token)

    def _needs_split(self, token: str) -> bool:
        return (len(token) > 1 and _JIEBA_ONLY.search(token) is not None
                and not _CJK.search(token) and not self.has_word(token))

    def __call__(self, text: str) -> Iterator[str]:
        for token in self.fast_cut(text, self.hmm):
            if self._needs_split(token):
                yield from self._split(token)
            else:
                yield token

    def _fix(self, m: re.Match[str]) -> str:
        token = m.group(0)
        return " ".join(self._split(token)) if self._needs_split(token) else token

    def joined(self, text: str, convert: Callable[[str], str] | None = None) -> str:
        """The segmented line; ``convert``, if given, is applied to every token."""
        if (_JIEBA_ONLY_OR_ODD_SPACE.search(text) is None and "  " not in text
                and text[:1] != " " and text[-1:] != " "):
            # Cleaned text, the usual case: its only whitespace is single spaces between words,
            # each a token " " that joins as three spaces; replacing those is one C-level pass,
            # where splitting the line and joining it again makes a string per token.
            tokens = self.fast_cut(text, self.hmm)
            line = " ".join(map(convert, tokens) if convert is not None else tokens)
            return line.replace("   ", " ") if " " in text else line
        line = " ".join(self.fast_cut(text, self.hmm))
        if _JIEBA_ONLY.search(line):
            line = _CANDIDATE.sub(self._fix, line)
        # Tokens never mix whitespace with other characters, so splitting the joined line on
        # whitespace gives the tokens without the whitespace ones, as join_tokens keeps them
        # (str.split and re's \s agree on what whitespace is; 3x faster than a regex collapse).
        tokens = line.split()
        return " ".join(map(convert, tokens) if convert is not None else tokens)


def join_tokens(tokens: Iterable[str]) -> str:
    return " ".join(t for t in tokens if t and not t.isspace())


def segment_text(text: str, tokenizer=None, hmm: bool = True) -> str:
    """jieba's tokens for ``text`` (``tokenizer`` is a jieba tokenizer, made if not given)."""
    tokenizer = tokenizer if tokenizer is not None else make_tokenizer()
    return join_tokens(tokenizer.cut(text, HMM=hmm))


def segment_records(records: Iterable[Record], stats: StageStats, hmm: bool = True,
                    user_dict: str | Path | None = None, convert_tokens: str | None = None,
                    engine: str = "rjieba", keep_phrases: bool = True) -> Iterator[Record]:
    """Segment every document; one document out per document in (line count preserved).

    ``keep_phrases`` joins again the tokens that spell one of OpenCC's phrases whose conversion
    decided a character (毕 昇 → 毕昇; see :mod:`.phrases`).

    ``convert_tokens`` (an OpenCC config) converts each token after segmentation: for text not
    converted before; on converted text it damages split names (see
    :class:`~.convert.TokenConverter`).
    """
    cut, used = make_cutter(engine, hmm, user_dict)
    stats.counters[f"engine_{used}"] = 1
    convert = None
    if convert_tokens:
        from .convert import TokenConverter

        convert = TokenConverter(convert_tokens)
    joined = getattr(cut, "joined", None)
    join_phrases = None
    if keep_phrases:
        from .phrases import default_joiner

        join_phrases = default_joiner()
    for rec in records:
        started = perf_counter()
        stats.count_in(rec.text, rec.size)
        if joined is not None:
            out = joined(rec.text, convert.__getitem__ if convert is not None else None)
        else:
            tokens = cut(rec.text)
            out = join_tokens(map(convert, tokens) if convert is not None else tokens)
        if join_phrases is not None:
            out = join_phrases(out)
        size = stats.count_out(out)
        stats.seconds += perf_counter() - started
        yield rec.with_text(out, size)
