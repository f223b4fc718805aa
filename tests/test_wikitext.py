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
        ("== 历史 ==\n内容", "历史.\n内容"),
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
