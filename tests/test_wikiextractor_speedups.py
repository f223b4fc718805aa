"""wikiextractor with its patterns compiled once gives the text wikiextractor as shipped gives."""

import copy
import pickle
import random
import re
import sys
import threading

import pytest

import prepsuite
from prepsuite.text import wikiextractor_speedups
from prepsuite.text.extract import Page, SiteInfo, _init_worker, _wikiextractor_text, iter_pages
from prepsuite.text.wikiextractor_speedups import CompiledOnce, TagLoop, TagPresence

# Markup that takes every branch of wikiextractor's clean(): nested and unbalanced templates and
# tables, the discarded elements (upper case, attributes holding '/' and '>', self-closing,
# orphaned closers), ignored tags, comments, placeholders, links of both kinds, quotes, lists.
PIECES = [
    "北京是中国的首都。", "Beijing ", "{{Infobox|name={{lang|en|Cat}}}}", "{{unclosed|", "}}",
    "{{a}}{{b|{{c}}}}", '{| class="wikitable"\n|-\n| a || b\n|}\n', "{|\n{|\n|}\n", "|}",
    "<ref>来源</ref>", '<ref name="geo/18aug2018-1">x</ref>', '<REF NAME=a/>',
    '<ref style="a > b" />', "</ref>", "<div class=x>内<div>层</div></div>", "<DIV>",
    "<DIV align=center>大</DIV>", "<Ref>r</Ref>", "<TABLE><TR><TD>格</TD></TR></TABLE>",
    "<table><tr><td>格</td></tr></table>", "<gallery>a.jpg|图</gallery>", "<small>小</small>",
    "<noinclude>n</noinclude>", "</noinclude>", "<includeonly>i</includeonly>",
    "<math>x^2</math>", "<code>c</code>", "<!-- 注释 -->", "<br/>", "<br>", "<hr />",
    "<span style='color:red'>红</span>", "<b>粗</b>", "<u>u</u>", "<sup>1</sup>",
    "[[北京]]", "[[首都|首府]]", "[[File:Cat.jpg|thumb|一只[[猫]]]]", "[[Category:动物]]",
    "[https://example.org 官网]", "[http://x.y]", "https://example.org/a?b=c",
    "'''粗体'''", "''斜体''", "'''''两者'''''", "''未闭", "__TOC__", "&amp;nbsp;", "&lt;b&gt;",
    "\n== 历史 ==\n", "\n=== 小节 ===\n", "\n* 第一\n* 第二\n# 第三\n", "\n; 术语\n: 定义\n",
    "\n", "\n\n", " ", "。", "5-16", "J.G", "(注)", "«引»", "<<", ">>",
    # what the tag guard must see as the regex engine does: spaces inside the tag, Unicode case
    # folding (ſ is s, K is k), names that extend ours, tags that appear only once markup or
    # another element between '<' and the name is gone, escaped tags
    "< ref >空</ ref >", "< / div >", "<ſmall>ſ</ſmall>", "<ſource>x</ſource>", "<KBD>K</kbd>",
    "<refs>", "<references/>", "<tdx>", "<divx>d</divx>", "<<div>x</div>ref>y</ref>", "<<ref>1</ref>small>内<<ref>2</ref>/small>",
    "<{{t}}ref>z</ref>", "<[[链接]]small>w</small>", "&lt;ref&gt;转义&lt;/ref&gt;", "&lt;div&gt;",
    "a < b", "<", "</", "<\nref>n</ref>",
]


def _pages(count: int, seed: int) -> list[Page]:
    rng = random.Random(seed)
    return [Page(id=i, title=f"页{i}", ns=0, redirect=False,
                 text="".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))))
            for i in range(count)]


@pytest.fixture
def shipped_then_compiled_once():
    """A function giving (wikiextractor as shipped, with the change) for a list of pages."""
    _init_worker(SiteInfo())

    def both(pages: list[Page]) -> tuple[list[str], list[str]]:
        wikiextractor_speedups.uninstall()
        shipped = [_wikiextractor_text(p) for p in pages]
        wikiextractor_speedups.install()
        return shipped, [_wikiextractor_text(p) for p in pages]

    yield both
    wikiextractor_speedups.install()


def test_the_sample_extracts_to_the_same_text(shipped_then_compiled_once):
    pages = [p for p in iter_pages(prepsuite.sample_dump()) if p.ns == 0 and not p.redirect]
    shipped, compiled_once = shipped_then_compiled_once(pages)
    assert [p.title for p, a, b in zip(pages, shipped, compiled_once) if a != b] == []


def test_random_markup_extracts_to_the_same_text(shipped_then_compiled_once):
    pages = _pages(600, seed=5)
    shipped, compiled_once = shipped_then_compiled_once(pages)
    differing = [p.text for p, a, b in zip(pages, shipped, compiled_once) if a != b]
    assert differing == []
    # The pages did exercise the markup: most of them lost some of it.
    assert sum(a != p.text for p, a in zip(pages, shipped)) > 500


def test_a_tag_pattern_is_skipped_only_where_its_name_cannot_occur():
    presence = TagPresence(["ref", "references", "div"])
    guarded = [r"<\s*ref\b(?:[^>])*>", r"<\s*/\s*ref\s*>", r"<ref\b.*?>", r"</\s*div\s*>"]
    for pattern in guarded:
        assert presence.group_of(pattern, re.IGNORECASE), pattern
    not_guarded = [
        r"<\s*ref",                 # no word boundary: also matches <refs>
        r"<\s*ref\b|<\s*foo",       # an alternation the parser factors to a common '<'
        r"(?a)<\s*ref\b",           # ASCII: \b ends the name before a non-ASCII letter
        r"<\s*span\b",              # a name it does not look for
        r"\{\|",
    ]
    for pattern in not_guarded:
        assert not presence.group_of(pattern, re.IGNORECASE), pattern
    assert not presence.group_of(r"<\s*ref\b", re.IGNORECASE | re.ASCII)

    ref = presence.group_of(r"<\s*ref\b", re.IGNORECASE)
    refs = presence.group_of(r"<\s*references\b", re.IGNORECASE)
    div = presence.group_of(r"<\s*div\b", re.IGNORECASE)
    text = "正文< REF name=a>x</ref><referencesx/>"
    assert not presence.absent(ref, text) and presence.absent(refs, text) and presence.absent(div, text)
    assert not presence.absent(div, "<DİV>")  # as re.IGNORECASE sees it: İ is i
    assert re.search(r"<\s*div\b", "<DİV>", re.IGNORECASE)


def test_threads_extracting_side_by_side_get_their_own_pages_text(shipped_then_compiled_once):
    """Each page hides a different tag; a thread reading another page's presence answer would
    keep it (or drop another), as an earlier version did."""
    tags = [("ref", "<b>x</b> "), ("small", "<i>y</i> "), ("sup", "<u>z</u> "), ("span", "<s>w</s> ")]
    pages = [Page(id=k, title=str(k), ns=0, redirect=False, text=f"页{k} <{tag}>藏{k}</{tag}> " + fill * 60)
             for k, (tag, fill) in enumerate(tags)]
    shipped, expected = shipped_then_compiled_once(pages)
    assert shipped == expected
    wrong: list[int] = []

    def extract(k: int) -> None:
        for _ in range(150):
            if _wikiextractor_text(pages[k]) != expected[k]:
                wrong.append(k)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=extract, args=(k,)) for k in [0, 1, 2, 3] * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_a_tag_loop_leaves_out_only_turns_that_would_change_nothing():
    """A turn of clean's discard loop: drop the element, then any stray closer. A turn is left
    out when its tag is absent from the text the previous turn's substitution produced."""
    tags = ["ref", "div", "small", "sup"]
    presence = TagPresence(tags)
    patterns = CompiledOnce(presence)
    loop = TagLoop(tags, [presence.group_of(rf"<\s*{t}\b", re.IGNORECASE) for t in tags], presence)

    def clean(text: str, report: bool = True) -> tuple[str, list[str]]:
        made = []
        for tag in loop:
            made.append(tag)
            text = re.sub(rf"<\s*{tag}\b[^>]*>.*?<\s*/\s*{tag}\s*>", "", text, flags=re.IGNORECASE | re.S)
            if report:  # the close pattern goes through the guard, which reports the text
                text = patterns.sub(rf"<\s*/\s*{tag}\s*>", "", text, flags=re.IGNORECASE)
        return text, made

    # the first turn is always made: nothing has reported the loop's text yet
    assert clean("正文") == ("正文", ["ref"])
    assert clean("a<SUP>1</SUP>b") == ("ab", ["ref", "sup"])
    # removing the ref joins '<' and 'small': the small turn is made, on the new text
    assert clean("<<ref>1</ref>small>内</small>尾") == ("尾", ["ref", "small"])
    # a body that reports nothing gives the loop nothing to go on: every turn is made, even with
    # an earlier text (holding no tag at all) reported before the loop began
    patterns.sub(r"<\s*/\s*ref\s*>", "", "旧")
    assert clean("正文", report=False) == ("正文", tags)
    assert list(loop) == tags and len(loop) == 4 and loop[1] == "div"
    assert pickle.loads(pickle.dumps(loop)) == tags


def test_guarded_patterns_copy_and_pickle_as_the_patterns_they_guard():
    import wikiextractor.extract as module

    wikiextractor_speedups.install()
    guarded = module._DEFAULT_IGNORED_TAG_PATTERNS
    wikiextractor_speedups.uninstall()
    shipped = module._DEFAULT_IGNORED_TAG_PATTERNS
    wikiextractor_speedups.install()
    assert pickle.loads(pickle.dumps(guarded)) == shipped
    left = guarded[0][0]
    assert copy.copy(left) == copy.deepcopy(left) == left.pattern
    assert [m.start() for m in left.finditer("<abbr>a</abbr><abbr>", 1)] == [14]


def test_install_is_idempotent_and_uninstall_restores_wikiextractor():
    import wikiextractor.extract as module

    wikiextractor_speedups.uninstall()
    shipped_drop_nested = module.dropNested
    shipped_clean, shipped_discards = module.clean, module.discardElements
    assert module.re is re
    wikiextractor_speedups.install()
    wrapped = module.dropNested
    wikiextractor_speedups.install()
    assert isinstance(module.re, CompiledOnce) and module.dropNested is wrapped
    assert wrapped.__wrapped__ is shipped_drop_nested and module.clean.__wrapped__ is shipped_clean
    assert isinstance(module.discardElements, TagLoop) and list(module.discardElements) == shipped_discards
    wikiextractor_speedups.uninstall()
    assert module.re is re and module.dropNested is shipped_drop_nested
    assert module.clean is shipped_clean and module.discardElements is shipped_discards
    wikiextractor_speedups.install()


def test_compiled_once_answers_as_re_does():
    patterns = CompiledOnce()
    first = patterns.compile(r"<\s*ref\b", re.IGNORECASE)
    assert patterns.compile(r"<\s*ref\b", re.IGNORECASE) is first
    assert first == re.compile(r"<\s*ref\b", re.IGNORECASE)
    assert patterns.compile(r"<\s*ref\b") != first
    assert patterns.sub(r"\s+", " ", "a  b\n c") == "a b c"
    assert patterns.sub("b", lambda m: m.group().upper(), "abcb", count=1) == "aBcb"
    assert patterns.search("B", "abc", flags=re.I).start() == 1
    assert patterns.match("b", "abc") is None
    assert [m.start() for m in patterns.finditer("a", "aba")] == [0, 2]
    assert patterns.IGNORECASE is re.IGNORECASE and patterns.escape("a.b") == r"a\.b"
    assert patterns.purge is re.purge  # names it does not define come from re
    with pytest.raises(ValueError):
        patterns.compile(first, re.IGNORECASE)
