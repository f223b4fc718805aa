"""Conversion and segmentation behave like the tools users ran by hand."""

import subprocess
import sys

import jieba
import pytest

from prepsuite.text.convert import OPENCC_CONFIGS, convert_text, make_converter
from prepsuite.text.segment import make_tokenizer, segment_text

TRADITIONAL = "漢字經歷了甲骨文、金文、篆書、隸書、楷書等演變過程。"


def test_t2s_converts_traditional_and_leaves_simplified_alone():
    assert convert_text(TRADITIONAL) == "汉字经历了甲骨文、金文、篆书、隶书、楷书等演变过程。"
    simplified = "汉字经历了甲骨文、金文、篆书、隶书、楷书等演变过程。"
    assert convert_text(simplified) == simplified


@pytest.mark.parametrize(
    "config, text, expected",
    [
        ("t2s", "計算機軟體", "计算机软体"),
        ("tw2s", "計算機軟體", "计算机软体"),
        ("hk2s", "香港的巴士", "香港的巴士"),
        ("tw2sp", "計算機軟體", "计算机软件"),
        ("t2s.json", "臺灣", "台湾"),
    ],
)
def test_every_offered_config(config, text, expected):
    assert make_converter(config).convert(text) == expected


def test_only_to_simplified_configs_are_offered():
    assert set(OPENCC_CONFIGS) == {"t2s", "tw2s", "hk2s", "tw2sp"}
    with pytest.raises(ValueError, match="unknown OpenCC config 's2t'"):
        make_converter("s2t")


LINES = [
    "北京 是 中华人民共和国的首都，也是全国的政治、文化和国际交往中心。",
    "长江全长约6300公里，5-16日 J.G 测试 AlphaGo 击败了李世乭。",
    "他来到了网易杭研大厦",
    "",
    "  多个   空格  ",
]


@pytest.mark.parametrize("hmm", [True, False])
def test_segmentation_equals_jieba_called_directly(hmm):
    tokenizer = make_tokenizer()
    for line in LINES:
        expected = [t for t in jieba.cut(line, HMM=hmm) if t.strip()]
        assert segment_text(line, tokenizer, hmm=hmm).split() == expected
        assert "  " not in segment_text(line, tokenizer, hmm=hmm)


def test_segmentation_equals_python_m_jieba(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "jieba", "-q", "-d", " ", str(src)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    tokenizer = make_tokenizer()
    assert [segment_text(line, tokenizer) for line in LINES] == [" ".join(o.split()) for o in out]


def test_user_dictionary_is_honoured(tmp_path):
    user_dict = tmp_path / "user.dict"
    user_dict.write_text("杭研大厦 10 n\n", encoding="utf-8")
    assert "杭研大厦" not in segment_text("他来到了网易杭研大厦", make_tokenizer()).split()
    assert "杭研大厦" in segment_text("他来到了网易杭研大厦", make_tokenizer(user_dict)).split()
    with pytest.raises(ValueError, match="user dictionary not found"):
        make_tokenizer(tmp_path / "missing.dict")
