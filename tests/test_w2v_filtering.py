"""Punctuation and stop words left out of word2vec training (--drop-punctuation, --stopwords)."""

from __future__ import annotations

import json

import pytest

from prepsuite.textio import InputError
from prepsuite.w2v.filtering import is_punctuation, load_stopwords

CORPUS = "北京 ， 是 中国 的 首都 。\n上海 ， 是 中国 的 城市 。\n“ 北京 ” 和 “ 上海 ” ……\n" * 30


def test_punctuation_tokens_are_those_without_letters_or_digits():
    assert all(map(is_punctuation, ["，", "。", "“", "……", "——", "+", "~", "、", "《", "》"]))
    assert not any(map(is_punctuation, ["C++", "5%", "①", "北京", "A", "", "ａ"]))


def test_training_leaves_out_punctuation_and_stop_words(prep, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    stop = tmp_path / "stop.txt"
    stop.write_text("\ufeff# function words\n的\n\n和\n", encoding="utf-8")
    prep("w2v", "train", corpus, "--out", tmp_path / "kept", "--min-count", "1", "--workers", "1")
    prep("w2v", "train", corpus, "--out", tmp_path / "dropped", "--min-count", "1", "--workers", "1",
         "--drop-punctuation", "--stopwords", stop)
    kept = (tmp_path / "kept" / "vectors.txt").read_text(encoding="utf-8").split("\n")[1:]
    dropped = (tmp_path / "dropped" / "vectors.txt").read_text(encoding="utf-8").split("\n")[1:]
    words = lambda lines: {line.split(" ")[0] for line in lines if line}
    assert {"，", "。", "的", "和"} <= words(kept)
    assert words(dropped) == {"北京", "是", "中国", "首都", "上海", "城市"}
    report = json.loads((tmp_path / "dropped" / "train.json").read_text(encoding="utf-8"))
    assert report["params"]["drop_punctuation"] is True and report["dropped_tokens"] == 30 * 12
    assert not list((tmp_path / "dropped").glob(".w2v-*"))  # the filtered copy is gone


def test_a_bad_stop_word_file_is_named(tmp_path):
    bad = tmp_path / "stop.txt"
    bad.write_text("的\n两个 词\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"stop.txt:2: one word per line"):
        load_stopwords(bad)
    with pytest.raises(InputError, match="stop-word file not found"):
        load_stopwords(tmp_path / "missing.txt")


def test_synthetic_set_with_punctuation_has_the_same_words(prep, tmp_path):
    prep("w2v", "synthetic", tmp_path / "plain", "--lines", "200")
    prep("w2v", "synthetic", tmp_path / "punct", "--lines", "200", "--punctuation")
    plain = (tmp_path / "plain" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    punct = (tmp_path / "punct" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    assert [[t for t in line.split() if not is_punctuation(t)] for line in punct] == [line.split() for line in plain]
    assert all(line.endswith(" 。") for line in punct)
    assert (tmp_path / "plain" / "analogies.txt").read_bytes() == (tmp_path / "punct" / "analogies.txt").read_bytes()
