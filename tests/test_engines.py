"""The fast engines give the same output as the reference ones, line by line."""

import json

import pytest

from prepsuite.stats import StageStats
from prepsuite.text.clean import clean_text
from prepsuite.text.convert import convert_batch_cpp, convert_records, make_converter
from prepsuite.text.sample import ARTICLES
from prepsuite.text.segment import join_tokens, make_cutter
from prepsuite.textio import Record

SAMPLE = [convert_text for convert_text in (make_converter("t2s", "python").convert(clean_text(a.text)) for a in ARTICLES)]
TRICKY = [
    "长江全长约6300公里，5-16日 J.G 测试 AlphaGo 击败了李世乭。",
    "测试  多个空格\t和 tab，全角　空格 ・· 符号！？……——混合 abc def 5-16 J.G. 100% C++ C# a_b &amp;",
    "ＡＢＣ １２３ ①② ㄅㄆ 한국어 日本語のテキスト ☆★ 😀 emoji",
    "-5-", "a-b-c-d", "北京-上海.高铁", "-", "", "历史.", "1990-1995年", "T恤和A股 卡拉OK",
]


def differences(lines, hmm):
    fast, used = make_cutter("rjieba", hmm)
    slow, _ = make_cutter("jieba", hmm)
    assert used == "rjieba"
    diffs = []
    for line in lines:
        expected = join_tokens(slow(line))
        # token by token, and the joined line the workflow uses (no Python code per token)
        for got in (join_tokens(fast(line)), fast.joined(line)):
            if got != expected:
                diffs.append((line, got, expected))
    return diffs


@pytest.mark.parametrize("hmm", [True, False])
def test_rjieba_engine_equals_jieba_on_the_sample_corpus(hmm):
    diffs = differences(SAMPLE, hmm)
    assert diffs == [], "\n".join(f"{line}\n  rjieba: {a}\n  jieba:  {b}" for line, a, b in diffs)


@pytest.mark.parametrize("hmm", [True, False])
def test_rjieba_engine_equals_jieba_where_rjieba_alone_differs(hmm):
    assert differences(TRICKY, hmm) == []


def test_rjieba_alone_does_differ_there():
    """Why the hybrid exists: plain rjieba keeps 5-16 whole where jieba splits it."""
    import jieba
    import rjieba

    assert rjieba.cut("5-16日", True) != list(jieba.cut("5-16日", HMM=True))


@pytest.mark.parametrize("hmm", [True, False])
def test_rjieba_engine_equals_jieba_on_random_mixtures(hmm):
    """Chinese words, letters, digits, ASCII punctuation and spaces in every combination."""
    import random

    words = ["中国", "北京", "的", "是", "计算机", "软件", "人工智能", "年", "月", "日", "测试"]
    ascii_runs = ["5-16", "J.G", "C++", "100%", "3.14", "e-mail", "a_b", "x&y", "#1", "-", ".",
                  "1.2.3", "v2.0", "abc", "2024", "U.S.A.", "%", "Wi-Fi", "12-", "A股", "T恤", "卡拉OK"]
    other = ["，", "。", " ", "  ", "（", "）", "、", "\t", "\u3000", "\n", " \u3000 "]
    rng = random.Random(7)
    lines = ["".join(rng.choice(rng.choice([words, ascii_runs, other])) for _ in range(rng.randint(1, 12)))
             for _ in range(3000)]
    diffs = differences(lines, hmm)
    assert diffs == [], diffs[:5]


def test_rjieba_engine_converts_tokens_as_jieba_does():
    """Tokens converted one by one (--convert-tokens) give the same line by either engine,
    spaced or not, with or without the ASCII runs that jieba splits."""
    import random

    from prepsuite.text.convert import TokenConverter

    words = ["畢昇", "昇", "電腦", "軟體", "中国", "的", "測試", "5-16", "J.G", "abc", "臺灣"]
    spaces = ["", " ", "  ", "\t", "\u3000"]
    rng = random.Random(11)
    lines = [rng.choice(spaces) + "".join(rng.choice(words) + rng.choice(spaces[:2] * 4 + spaces)
                                          for _ in range(rng.randint(1, 10)))
             for _ in range(2000)]
    fast, _ = make_cutter("rjieba", True)
    slow, _ = make_cutter("jieba", True)
    conv = TokenConverter("t2s")
    diffs = [(line, got, expected) for line in lines
             if (got := fast.joined(line, conv.__getitem__)) != (expected := join_tokens(map(conv, slow(line))))]
    assert diffs == [], diffs[:5]
    assert any(" " in line.strip() for line in lines) and conv["畢"] == "毕"


def test_user_dictionary_falls_back_to_jieba(tmp_path, caplog):
    user_dict = tmp_path / "user.dict"
    user_dict.write_text("杭研大厦 10 n\n", encoding="utf-8")
    cut, used = make_cutter("rjieba", True, user_dict)
    assert used == "jieba"
    assert "杭研大厦" in list(cut("他来到了网易杭研大厦"))
    assert "rjieba cannot honour --user-dict" in caplog.text


def test_unknown_engines_are_refused():
    with pytest.raises(ValueError, match="unknown segmentation engine 'pkuseg'"):
        make_cutter("pkuseg")
    with pytest.raises(ValueError, match="unknown conversion engine 'java'"):
        list(convert_records([Record("漢字", 1)], StageStats("convert"), engine="java"))


# --- conversion engines ---------------------------------------------------------------------

RAW = [clean_text(a.text) for a in ARTICLES]


@pytest.mark.parametrize("config", ["t2s", "tw2s", "hk2s"])
def test_cpp_engine_equals_python_engine_on_the_sample(config):
    cc = make_converter(config, "python")
    assert convert_batch_cpp(RAW, config) == [cc.convert(t) for t in RAW]


def test_tw2sp_engines_differ_only_in_dictionary_version():
    """Their phrase tables differ (documented in README): the C++ one is the newer."""
    cc = make_converter("tw2sp", "python")
    py = [cc.convert(t) for t in RAW]
    cpp = convert_batch_cpp(RAW, "tw2sp")
    assert len(py) == len(cpp)
    changed = [(a, b) for a, b in zip(py, cpp) if a != b]
    assert any("概率论" in b and "几率论" in a for a, b in changed)
    assert all(len(a) == len(b) for a, b in changed)


def test_cpp_engine_keeps_documents_apart_and_multiline_documents_intact():
    texts = ["漢字", "", "第一行\n第二行", "臺灣", "私用\ue000區", "\n"]
    assert convert_batch_cpp(texts) == ["汉字", "", "第一行\n第二行", "台湾", "私用\ue000区", "\n"]
    # one line each (cleaned documents): a line back is a document back, empty ones included
    assert convert_batch_cpp(["", "漢字", "", "臺灣 歷史", ""]) == ["", "汉字", "", "台湾 历史", ""]


def test_cpp_engine_batches_preserve_order():
    recs = [Record(f"第{i}個漢字", i) for i in range(1, 200)]
    stats = StageStats("convert")
    out = list(convert_records(recs, stats, engine="cpp", batch_bytes=100))
    assert [r.text for r in out] == [f"第{i}个汉字" for i in range(1, 200)]
    assert [r.lineno for r in out] == list(range(1, 200))
    assert stats.counters["engine_cpp"] == 1


def test_cpp_engine_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PREPSUITE_OPENCC_CPP", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="needs OpenCC's official C[+][+] build"):
        convert_batch_cpp(["漢字"])


def test_project_environment_never_imports_the_official_binding():
    import opencc

    assert "opencc-cpp" not in opencc.__file__
    assert hasattr(opencc, "OpenCC") and make_converter("t2s", "python").convert("漢") == "汉"


@pytest.mark.parametrize("engine", ["rjieba", "jieba"])
def test_converted_tokens_are_the_same_with_either_engine(engine):
    """--convert-tokens converts every token whatever the engine (畢昇 → 毕昇 → 毕 昇 → 毕 升)."""
    from prepsuite.text.segment import segment_records

    lines = ["就是北宋畢昇發明的。", *SAMPLE]
    out = [r.text for r in segment_records((Record(t, i) for i, t in enumerate(lines, 1)),
                                           StageStats("segment"), True, None, "t2s", engine)]
    assert out[0] == "就是 北宋 毕 升 发明 的 。"
    cut, _ = make_cutter("jieba", True)
    convert = make_converter("t2s", "pyo3").convert
    assert out[1:] == [" ".join(convert(t) for t in join_tokens(cut(line)).split(" ")) if line else ""
                       for line in SAMPLE]


@pytest.mark.parametrize("engine", ["python", "cpp"])
def test_each_stage_counts_the_bytes_it_saw_when_chained(engine):
    # the chained stages hand each document's UTF-8 length on instead of encoding it again:
    # every stage's in/out bytes must still be those of the texts that passed it
    from prepsuite.text.clean import clean_records
    from prepsuite.text.segment import segment_records

    seen: dict[str, list[str]] = {}

    def tap(name, records):
        for rec in records:
            seen.setdefault(name, []).append(rec.text)
            yield rec

    docs = [a.text for a in ARTICLES] + ["{{Coord|1|2}}（）", "漢字 和  ＡＢＣ 測試 5-16"]
    clean, convert, segment = StageStats("clean"), StageStats("convert"), StageStats("segment")
    recs = tap("raw", (Record(t, i) for i, t in enumerate(docs, 1)))
    recs = tap("cleaned", clean_records(recs, clean))
    recs = tap("converted", convert_records(recs, convert, "t2s", engine))
    out = list(tap("segmented", segment_records(recs, segment, engine="rjieba")))

    def size(name):
        return sum(len(t.encode("utf-8")) for t in seen[name])

    dropped = clean.rejected["empty_after_cleaning"]  # the template-only document, at least
    assert dropped >= 1 and len(out) == len(docs) - dropped
    assert (clean.bytes_in, clean.bytes_out) == (size("raw"), size("cleaned"))
    assert (convert.bytes_in, convert.bytes_out) == (size("cleaned"), size("converted"))
    assert (segment.bytes_in, segment.bytes_out) == (size("converted"), size("segmented"))
    assert size("segmented") != size("converted") != size("raw")
    assert [r.size for r in out] == [len(t.encode("utf-8")) for t in seen["segmented"]]


def test_the_fast_join_is_taken_exactly_where_text_is_single_spaced_without_jiebas_punctuation():
    import re
    import sys

    from prepsuite.text.segment import _JIEBA_ONLY, _JIEBA_ONLY_OR_ODD_SPACE, NON_SPACE_WHITESPACE

    every = "".join(map(chr, range(sys.maxunicode + 1)))

    def whitespace(pattern):
        return re.findall(pattern, every)

    spelt = whitespace(f"[{NON_SPACE_WHITESPACE}]")
    assert spelt == [c for c in every if c.isspace() and c != " "]
    assert whitespace(r"\s") == sorted(spelt + [" "])

    def fast(text):  # the test segment.joined makes, as written there
        return (_JIEBA_ONLY_OR_ODD_SPACE.search(text) is None and "  " not in text
                and text[:1] != " " and text[-1:] != " ")

    def reference(text):  # what it stands for
        return (_JIEBA_ONLY.search(text) is None
                and re.search(r"[^\S ]|  |^ | $", text) is None)

    cases = TRICKY + SAMPLE + ["中文 英文 words", " 前", "後 ", "兩  空格", "全角\u3000空格", "不\xa0断",
                               "行\n", "换\r行", "a-b", "1.5", "\u2028", "\x1c", "x\u200ay", "单"]
    assert [fast(t) for t in cases] == [reference(t) for t in cases]
    assert any(fast(t) for t in cases) and not all(fast(t) for t in cases)
