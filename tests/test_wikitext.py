"""The `fast` extraction engine: what it removes, and parity with wikiextractor."""

import pytest

import prepsuite
from prepsuite.text.clean import clean_text
from prepsuite.text.extract import SiteInfo, _init_worker, _wikiextractor_text, iter_pages
from prepsuite.text.wikitext import wikitext_to_text


@pytest.mark.parametrize(
    "wikitext, expected",
    [
        ("'''北京'''是[[中国]]的[[首都|首府]]。", "北京是中国的首府。"),
        ("[[File:Cat.jpg|thumb|一只[[猫]]]]猫是动物。", "猫是动物。"),
        ("[[Category:动物]][[分类:哺乳动物]][[en:Cat]]猫", "猫"),
        ("见[[:Category:动物]]", "见Category:动物"),
        ("{{Infobox|name={{lang|en|Cat}}}}正文", "正文"),
        ('{| class="wikitable"\n|-\n| a || b\n|}\n正文', "正文"),
        ("== 历史 ==\n内容", "历史\n内容"),
        ("== 为什么? ==", "为什么?"),
        ("* 第一\n* 第二\n# 第三", "第一\n第二\n第三"),
        ("__TOC__正文", "正文"),
        ("参见[https://example.org 官网]和[http://x.y]", "参见官网和"),
        ("正文<ref>来源</ref>。<ref name=a/>", "正文。"),
        ("<math>x^2</math>公式<gallery>a.jpg</gallery>", "公式"),
        ("正文<!-- 注释 -->继续", "正文继续"),
        ("[[#历史|历史一节]]", "历史一节"),
        ("[[北京#历史]]", "北京"),
    ],
)
def test_golden(wikitext, expected):
    assert wikitext_to_text(wikitext) == expected


def test_fast_engine_equals_wikiextractor_after_cleaning_on_the_sample():
    pages = [p for p in iter_pages(prepsuite.sample_dump()) if p.ns == 0 and not p.redirect]
    _init_worker(SiteInfo())
    diffs = [p.title for p in pages
             if clean_text(_wikiextractor_text(p)) != clean_text(wikitext_to_text(p.text))]
    assert diffs == []


def test_shortcuts_give_what_the_plain_patterns_give():
    # the converter's faster spellings (a literal-led quote pattern, substring tests for list
    # lines, a newline-led pattern where no line ends in blanks, no extra pass once a construct's
    # opening mark is gone) against the patterns they stand for, on random wikitext-ish strings
    import random
    import re

    from prepsuite.text import wikitext as w

    def repeat_plain(pattern, repl, text):
        while True:
            text, n = pattern.subn(repl, text)
            if not n:
                return text

    rnd = random.Random(5)
    alphabet = ["'", "''", " ", "\t", "\n", "\n\n", "*", "#", ":", ";", "a", "中", "[[", "]]", "{{",
                "}}", "{|", "|}", "|", "=", "en:", "File:"]
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 30))) for _ in range(6000)]
    texts += ["", "*", "\n*", " \n", "\t\n\n x", "'''粗體'''", "a ''' b", "[[a|[[b]]]]"]
    hits = {"quotes": 0, "blanks": 0, "list": 0}
    for text in texts:
        assert w._QUOTES.sub("", text) == re.sub(r"'{2,}", "", text)
        assert w._blank_lines(text) == re.sub(r"[ \t]*\n[ \t\n]*", "\n", text)
        assert w._has_list_line(text) == bool(re.search(r"(?:^|\n)[*#:;]", text))
        for pattern, repl, mark in ((w._TEMPLATE, "", "{{"), (w._TABLE, "", "{|"), (w._LINK, w._link, "[[")):
            assert w._repeat(pattern, repl, text, mark) == repeat_plain(pattern, repl, text)
        hits["quotes"] += "''" in text
        hits["blanks"] += "\n" in text and " \n" not in text and "\t\n" not in text
        hits["list"] += w._has_list_line(text)
    assert min(hits.values()) > 500  # every shortcut was taken, and often
