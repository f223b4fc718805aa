"""Scoring word vectors: analogies, word-pair similarity, nearest neighbours.

The scores are gensim's own (``KeyedVectors.evaluate_word_analogies`` and
``evaluate_word_pairs``), so they compare with published figures; the test files are parsed and
validated by :mod:`.formats` first and handed to gensim in the one layout it reads. Out-of-
vocabulary counts are computed here from the parsed questions, with gensim's rule: a question or
pair counts as OOV when one of its words is not among the ``restrict_vocab`` most frequent words
(compared in upper case when ``case_insensitive``), and OOV items are left out of the scores.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..textio import InputError
from .formats import AnalogySet, SimilaritySet, read_analogies, read_similarity, write_gensim_analogies, write_gensim_pairs
from .train import KV_FILE

DEFAULT_RESTRICT_VOCAB = 300_000  # gensim's default


def load_vectors(path: str | os.PathLike[str]) -> Any:
    """Load ``KeyedVectors`` from what ``prep w2v train`` writes, or from any common format.

    ``path`` may be the training output directory (its ``vectors.kv``), a ``.kv`` file, a gensim
    ``.model``, or word2vec vectors in text (``.txt``, ``.vec``) or binary (``.bin``) format.
    """
    p = Path(path)
    if p.is_dir():
        p = p / KV_FILE
    if not p.is_file():
        raise InputError(f"{p}: no such file (give the training output directory, a .kv, .model, .txt or .bin file)")
    from gensim.models import KeyedVectors, Word2Vec

    suffix = p.suffix.lower()
    try:
        if suffix == ".model":
            return Word2Vec.load(str(p)).wv
        if suffix in (".txt", ".vec"):
            return KeyedVectors.load_word2vec_format(str(p), binary=False)
        if suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(p), binary=True)
        kv = KeyedVectors.load(str(p))
    except Exception as e:  # pickle, numpy and format errors all mean "not what we expected"
        raise InputError(f"{p}: cannot load word vectors ({type(e).__name__}: {e})") from None
    if not isinstance(kv, KeyedVectors):
        kv = getattr(kv, "wv", None)
        if not isinstance(kv, KeyedVectors):
            raise InputError(f"{p}: not a gensim KeyedVectors or word2vec model")
    return kv


def _known_words(kv: Any, restrict_vocab: int, case_insensitive: bool) -> set[str]:
    keys = kv.index_to_key[:restrict_vocab]
    return {k.upper() for k in keys} if case_insensitive else set(keys)


def _is_known(word: str, known: set[str], case_insensitive: bool) -> bool:
    return (word.upper() if case_insensitive else word) in known


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def _finite(value: Any) -> float | None:
    """A JSON-safe float: scipy returns NaN for constant input, which JSON cannot hold."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def _check_restrict(restrict_vocab: int) -> None:
    if restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be >= 1, got {restrict_vocab}")


def evaluate_analogies(kv: Any, analogies: AnalogySet, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
                       case_insensitive: bool = True) -> dict[str, Any]:
    """Accuracy per section and overall, with question and OOV counts (gensim's rules)."""
    _check_restrict(restrict_vocab)
    with tempfile.TemporaryDirectory(prefix="prep-w2v-") as tmp:
        normalised = Path(tmp) / "analogies.txt"
        with open(normalised, "w", encoding="utf-8", newline="\n") as fh:
            write_gensim_analogies(analogies, fh)
        _score, scored = kv.evaluate_word_analogies(
            str(normalised), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    # gensim returns one entry per header, in file order, then "Total accuracy".
    if len(scored) != len(analogies.sections) + 1:
        raise RuntimeError(f"gensim returned {len(scored) - 1} sections for {len(analogies.sections)}")
    known = _known_words(kv, restrict_vocab, case_insensitive)
    sections = []
    for section, result in zip(analogies.sections, scored):
        correct = len(result["correct"])
        evaluated = correct + len(result["incorrect"])
        oov = sum(1 for q in section.questions if not all(_is_known(w, known, case_insensitive) for w in q))
        if evaluated + oov != len(section.questions):
            raise RuntimeError(f"section {section.name!r}: gensim scored {evaluated} of "
                               f"{len(section.questions) - oov} in-vocabulary questions")
        sections.append({"section": section.name, "questions": len(section.questions),
                         "evaluated": evaluated, "oov": oov, "correct": correct,
                         "accuracy": _ratio(correct, evaluated)})
    total = {key: sum(s[key] for s in sections) for key in ("questions", "evaluated", "oov", "correct")}
    return {"file": analogies.path, **total, "accuracy": _ratio(total["correct"], total["evaluated"]),
            "sections": sections}


def evaluate_similarity(kv: Any, similarity: SimilaritySet, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
                        case_insensitive: bool = True) -> dict[str, Any]:
    """Spearman and Pearson correlation of model and gold similarities, with OOV counts."""
    _check_restrict(restrict_vocab)
    known = _known_words(kv, restrict_vocab, case_insensitive)
    oov = sum(1 for a, b, _ in similarity.pairs
              if not (_is_known(a, known, case_insensitive) and _is_known(b, known, case_insensitive)))
    evaluated = len(similarity.pairs) - oov
    result: dict[str, Any] = {
        "file": similarity.path, "pairs": len(similarity.pairs), "evaluated": evaluated, "oov": oov,
        "oov_ratio": _ratio(oov, len(similarity.pairs)), "header": similarity.header,
        "spearman": None, "spearman_p": None, "pearson": None, "pearson_p": None,
    }
    if evaluated < 2:  # no correlation of fewer than two points (gensim would raise)
        return result
    with tempfile.TemporaryDirectory(prefix="prep-w2v-") as tmp:
        normalised = Path(tmp) / "pairs.tsv"
        with open(normalised, "w", encoding="utf-8", newline="\n") as fh:
            write_gensim_pairs(similarity, fh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant input: scipy warns and returns NaN → null
            pearson, spearman, _oov_ratio = kv.evaluate_word_pairs(
                str(normalised), delimiter="\t", restrict_vocab=restrict_vocab,
                case_insensitive=case_insensitive)
    result.update(spearman=_finite(spearman[0]), spearman_p=_finite(spearman[1]),
                  pearson=_finite(pearson[0]), pearson_p=_finite(pearson[1]))
    return result


def evaluate(model: str | os.PathLike[str], analogies: Sequence[str | os.PathLike[str]] = (),
             similarity: Sequence[str | os.PathLike[str]] = (),
             restrict_vocab: int = DEFAULT_RESTRICT_VOCAB, case_insensitive: bool = True) -> dict[str, Any]:
    """Score ``model`` on every file; what ``eval.json`` holds.

    All files are parsed before the model is loaded, so a malformed test set fails in
    milliseconds, not after loading a large model.
    """
    _check_restrict(restrict_vocab)
    if not analogies and not similarity:
        raise ValueError("nothing to evaluate: give analogy files, similarity files, or both")
    analogy_sets = [read_analogies(p) for p in analogies]
    similarity_sets = [read_similarity(p) for p in similarity]
    kv = load_vectors(model)
    return {
        "model": str(model),
        "vocabulary": len(kv),
        "restrict_vocab": min(restrict_vocab, len(kv)),
        "case_insensitive": case_insensitive,
        "analogies": [evaluate_analogies(kv, s, restrict_vocab, case_insensitive) for s in analogy_sets],
        "similarity": [evaluate_similarity(kv, s, restrict_vocab, case_insensitive) for s in similarity_sets],
    }


def neighbors(kv: Any, word: str, n: int = 10, source: str = "the model") -> list[tuple[str, float]]:
    """The ``n`` nearest words to ``word`` by cosine similarity, nearest first.

    An unknown word is an :class:`InputError` (``source`` names the model in the message).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if word not in kv.key_to_index:
        raise InputError(f"{word!r} is not in the vocabulary of {source} ({len(kv):,} words)")
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=n)]


def format_report(report: dict[str, Any]) -> str:
    """The evaluation as a few readable lines (the JSON has everything)."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = [f"model {report['model']}: {report['vocabulary']:,} words"]
    for a in report["analogies"]:
        lines.append(f"analogies {a['file']}: accuracy {pct(a['accuracy'])} "
                     f"({a['correct']}/{a['evaluated']}, {a['oov']} of {a['questions']} questions OOV)")
        for s in a["sections"]:
            lines.append(f"  {s['section']}: {pct(s['accuracy'])} ({s['correct']}/{s['evaluated']}, {s['oov']} OOV)")
    for s in report["similarity"]:
        lines.append(f"similarity {s['file']}: spearman {num(s['spearman'])}, pearson {num(s['pearson'])} "
                     f"({s['evaluated']} pairs, {s['oov']} of {s['pairs']} OOV)")
    return "\n".join(lines)
