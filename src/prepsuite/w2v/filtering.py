"""Tokens left out of word2vec training: punctuation, and the words of a stop-word file.

On a small corpus the commonest tokens are punctuation (，。、“”) and function words (的 和 是);
kept, they fill every word's neighbourhood (`prep w2v neighbors results/w2v 北京` answered
，。和 中国 的). gensim's ``corpus_file`` mode reads a file in C, so the tokens are dropped by
writing a filtered copy of the corpus beside the outputs and training on that.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ..textio import InputError, atomic_output


def is_punctuation(token: str) -> bool:
    """A token made only of punctuation and symbols (Unicode P* and S*: ，。“” ... — ~ + =),
    never one holding a letter or digit (C++, 5%, ①)."""
    return bool(token) and all(unicodedata.category(ch)[0] in "PS" for ch in token)


def load_stopwords(path: str | Path) -> frozenset[str]:
    """One word per line, UTF-8 (a BOM allowed); blank lines and ``#`` comments skipped.
    A word holding whitespace can never match a corpus token, so it is refused by line."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{p}: stop-word file not found") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{p}: byte {err.start}: not UTF-8 ({err.reason})") from None
    words = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        if len(word.split()) != 1:
            raise InputError(f"{p}:{lineno}: one word per line, got {word!r}")
        words.add(word)
    return frozenset(words)


class _Dropped(dict):
    """token → whether it is left out, decided once per distinct token."""

    def __init__(self, punctuation: bool, stopwords: frozenset[str]):
        super().__init__()
        self.punctuation = punctuation
        self.stopwords = stopwords

    def __missing__(self, token: str) -> bool:
        drop = token in self.stopwords or (self.punctuation and is_punctuation(token))
        if len(self) < 2_000_000:
            self[token] = drop
        return drop


def filter_corpus(corpus: Path, output: Path, punctuation: bool,
                  stopwords: frozenset[str] = frozenset()) -> tuple[int, int]:
    """Write ``corpus`` to ``output`` without the dropped tokens; a line left empty stays an
    empty line (gensim skips it). Returns (tokens read, tokens dropped)."""
    dropped = _Dropped(punctuation, stopwords)
    seen = gone = 0
    with open(corpus, encoding="utf-8") as src, atomic_output(output) as out:
        for line in src:
            tokens = line.split()
            kept = [t for t in tokens if not dropped[t]]
            seen += len(tokens)
            gone += len(tokens) - len(kept)
            out.write(" ".join(kept))
            out.write("\n")
    return seen, gone
