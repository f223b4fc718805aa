"""Phrase-correct conversion: wherever OpenCC's phrase table and its character table disagree on
the bundled sample, the corpus has the phrase's characters.

The places are found, not listed by hand: each article is converted whole and character by
character, and every position where the two differ is a phrase that per-character (or
per-token) conversion would damage (畢昇 → 毕升, 乾隆 → 干隆, 著名 → 着名, 專著 → 专着, …).
"""

from __future__ import annotations

import json

from prepsuite.text.clean import clean_text
from prepsuite.text.convert import make_converter
from prepsuite.text.sample import ARTICLES


def disagreements() -> list[tuple[str, str, str]]:
    """(title, phrase as converted whole, the same span converted character by character)."""
    cc = make_converter("t2s")
    found = []
    for article in ARTICLES:
        text = clean_text(article.text)
        whole = cc.convert(text)
        by_char = "".join(cc.convert(ch) for ch in text)
        assert len(whole) == len(by_char)
        for i, (a, b) in enumerate(zip(whole, by_char)):
            if a != b:
                span = slice(max(0, i - 1), i + 2)
                found.append((article.title, whole[span].replace(" ", ""), by_char[span].replace(" ", "")))
    return found


def test_the_sample_holds_phrases_the_character_table_would_damage():
    spans = [whole for _, whole, _ in disagreements()]
    for phrase in ("毕昇", "乾隆", "康乾", "专著", "著名"):
        assert any(phrase in span for span in spans), phrase
    assert len(spans) == 9  # on the sample as bundled; a changed sample or dictionary shows here


def test_the_processed_sample_keeps_every_phrase(prep, sample_dump, tmp_path):
    out = tmp_path / "corpus.jsonl"
    prep("process", sample_dump, out, "--chunk", "1", "--chunks", "1")
    corpus = {d["title"]: d["text"].replace(" ", "")
              for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for title, whole, by_char in disagreements():
        assert whole in corpus[title], (title, whole)
        assert by_char not in corpus[title], (title, by_char)
