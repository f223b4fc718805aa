"""Word segmentation with jieba's accurate mode.

The output is the token sequence of ``python -m jieba -d " "`` with whitespace tokens dropped,
so words are separated by exactly one space whatever spacing the input had.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..stats import StageStats
from ..textio import Record


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


def join_tokens(tokens: Iterable[str]) -> str:
    return " ".join(t for t in tokens if t and not t.isspace())


def segment_text(text: str, tokenizer=None, hmm: bool = True) -> str:
    tokenizer = tokenizer if tokenizer is not None else make_tokenizer()
    return join_tokens(tokenizer.cut(text, HMM=hmm))


def segment_records(records: Iterable[Record], stats: StageStats, hmm: bool = True,
                    user_dict: str | Path | None = None,
                    convert_tokens: str | None = None) -> Iterator[Record]:
    """Segment every document; one document out per document in (line count preserved).

    ``convert_tokens`` (an OpenCC config) converts each token after segmentation, so that the
    output is unchanged by converting it again (see :class:`~.convert.TokenConverter`).
    """
    tokenizer = make_tokenizer(user_dict)
    convert = None
    if convert_tokens:
        from .convert import TokenConverter

        convert = TokenConverter(convert_tokens)
    for rec in records:
        stats.count_in(rec.text)
        tokens = tokenizer.cut(rec.text, HMM=hmm)
        out = join_tokens(map(convert, tokens) if convert else tokens)
        stats.count_out(out)
        yield rec.with_text(out)
