"""Reading word-vector test sets the way users find them.

gensim's evaluators read files themselves and are strict in odd ways: ``evaluate_word_pairs``
splits on one fixed delimiter and silently skips every line it cannot parse (a header, a
space-separated file, a typo), and ``evaluate_word_analogies`` rejects questions before the first
section header. So the files are parsed and validated here first — a malformed line is an
:class:`~prepsuite.textio.InputError` naming the file and line, never a silently smaller test
set — and then rewritten in the one layout gensim expects (:func:`write_gensim_analogies`,
:func:`write_gensim_pairs`).

Accepted, in any mix: UTF-8 with or without a byte-order mark, LF or CRLF line ends, fields
separated by tabs or runs of spaces, blank lines and ``#`` comment lines.

* Analogies: ``: section`` header lines, then ``a b c d`` (a is to b as c is to d). Questions
  before the first header form a section named after the file.
* Similarity: ``word1 word2 score``; a first line whose last field is not a number is a header
  (``word1 word2 score``, ``Word 1<TAB>Word 2<TAB>Human (mean)``) and is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..textio import InputError

Question = tuple[str, str, str, str]
Pair = tuple[str, str, float]


@dataclass
class AnalogySection:
    """One ``: section`` of an analogy file and its questions, in file order."""

    name: str
    questions: list[Question] = field(default_factory=list)


@dataclass
class AnalogySet:
    """A parsed analogy file."""

    path: str
    sections: list[AnalogySection]

    @property
    def questions(self) -> int:
        return sum(len(s.questions) for s in self.sections)


@dataclass
class SimilaritySet:
    """A parsed word-pair similarity file; ``header`` is the skipped header line, if any."""

    path: str
    pairs: list[Pair]
    header: str | None = None


def _content_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of the lines that carry content.

    Blank and ``#`` lines are skipped; BOM, CR and LF are removed. Invalid UTF-8 is an error
    rather than dropped bytes: a mangled word would silently count as out of vocabulary.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    with open(p, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{path}: line {lineno}: not valid UTF-8 (byte {e.start} of the line); "
                    "convert the file, e.g. iconv -f GBK -t UTF-8"
                ) from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            text = line.strip()
            if text and not text.startswith("#"):
                yield lineno, text


def _number(text: str) -> float | None:
    """``text`` as a finite float, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_analogies(path: str | Path) -> AnalogySet:
    """Parse an analogy file (``: section`` headers, four words per question line)."""
    sections: list[AnalogySection] = []
    current: AnalogySection | None = None
    for lineno, text in _content_lines(path):
        if text.startswith(":"):
            name = text[1:].strip()
            if not name:
                raise InputError(f"{path}: line {lineno}: section header ':' has no name")
            current = AnalogySection(name)
            sections.append(current)
            continue
        words = text.split()
        if len(words) != 4:
            raise InputError(
                f"{path}: line {lineno}: expected four words (a b c d: a is to b as c is to d) "
                f"or a ': section' header, found {len(words)} field{'s' if len(words) != 1 else ''}"
            )
        if current is None:
            current = AnalogySection(Path(path).stem)
            sections.append(current)
        current.questions.append((words[0], words[1], words[2], words[3]))
    result = AnalogySet(str(path), sections)
    if result.questions == 0:
        raise InputError(f"{path}: no analogy questions (lines of four words)")
    return result


def read_similarity(path: str | Path) -> SimilaritySet:
    """Parse a word-pair similarity file (two words and a score per line, optional header)."""
    pairs: list[Pair] = []
    header: str | None = None
    first = True
    for lineno, text in _content_lines(path):
        fields = text.split()
        if first:
            first = False
            if _number(fields[-1]) is None:
                header = text
                continue
        if len(fields) != 3:
            raise InputError(
                f"{path}: line {lineno}: expected two words and a score separated by tabs or "
                f"spaces, found {len(fields)} field{'s' if len(fields) != 1 else ''}"
            )
        score = _number(fields[2])
        if score is None:
            raise InputError(f"{path}: line {lineno}: score {fields[2]!r} is not a number")
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise InputError(f"{path}: no word pairs (lines of two words and a score)")
    return SimilaritySet(str(path), pairs, header)


def write_gensim_analogies(analogies: AnalogySet, fh: IO[str]) -> None:
    """Write ``analogies`` in the layout ``KeyedVectors.evaluate_word_analogies`` reads."""
    for section in analogies.sections:
        fh.write(f": {section.name}\n")
        for question in section.questions:
            fh.write(" ".join(question) + "\n")


def write_gensim_pairs(similarity: SimilaritySet, fh: IO[str]) -> None:
    """Write ``similarity`` in the layout ``KeyedVectors.evaluate_word_pairs`` reads (tabs)."""
    for a, b, score in similarity.pairs:
        fh.write(f"{a}\t{b}\t{score!r}\n")
