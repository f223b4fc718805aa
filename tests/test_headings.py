"""Section headings end up as plain text, never as a stray ASCII period (`历史 .`), with every
extraction engine; `--headings drop` leaves them out."""

from __future__ import annotations

import json

import pytest

from prepsuite.text import extract
from prepsuite.text.extract import Page, _gensim_headings, _wikiextractor_text, set_headings
from prepsuite.text.wikitext import wikitext_to_text

WIKITEXT = "北京是首都。\n\n== 歷史 ==\n北京在元朝時稱大都。\n\n=== 誰建的？ ===\n忽必烈。\n\n== 地理. ==\n平原。"


@pytest.fixture(autouse=True)
def keep_headings_afterwards():
    yield
    set_headings("keep")


def test_wikiextractor_headings_are_plain_text():
    text = _wikiextractor_text(Page(1, "北京", 0, False, WIKITEXT))
    assert text.split("\n") == ["北京是首都。", "歷史", "北京在元朝時稱大都。", "誰建的？", "忽必烈。",
                                "地理.", "平原。"]  # a heading's own '.' stays, only the added one goes


def test_fast_engine_gives_the_same_lines():
    assert wikitext_to_text(WIKITEXT).split("\n") == _wikiextractor_text(
        Page(1, "北京", 0, False, WIKITEXT)).split("\n")


def test_gensim_engine_headings_are_plain_text():
    assert _gensim_headings(["前文。", "== 歷史 ==", "北京", "==  ==", "a == b"]) == ["前文。", "歷史", "北京", "a == b"]


def test_headings_can_be_dropped():
    set_headings("drop")
    page = Page(1, "北京", 0, False, WIKITEXT)
    lines = ["北京是首都。", "北京在元朝時稱大都。", "忽必烈。", "平原。"]
    assert _wikiextractor_text(page).split("\n") == lines
    assert extract._fast_text(page).split("\n") == lines
    assert _gensim_headings(["== 歷史 ==", "北京"]) == ["北京"]
    with pytest.raises(ValueError, match="unknown headings setting 'none'"):
        set_headings("none")


@pytest.mark.parametrize("engine", ["wikiextractor", "fast"])
def test_no_heading_leaves_a_period_in_the_processed_sample(prep, sample_dump, tmp_path, engine):
    keep, drop = tmp_path / "keep.jsonl", tmp_path / "drop.jsonl"
    prep("process", sample_dump, keep, "--chunk", "1", "--chunks", "1", "--extract-engine", engine)
    prep("process", sample_dump, drop, "--chunk", "1", "--chunks", "1", "--extract-engine", engine,
         "--headings", "drop")
    kept = {d["title"]: d["text"] for d in map(json.loads, keep.read_text(encoding="utf-8").splitlines())}
    dropped = {d["title"]: d["text"] for d in map(json.loads, drop.read_text(encoding="utf-8").splitlines())}
    assert "建都 史 。 历史 北京 在 元朝" in kept["北京市"]
    assert "建都 史 。 北京 在 元朝" in dropped["北京市"]
    assert not any(" ." in text.replace(" ...", "") for text in kept.values())
