"""Golden tests: one per cleaning rule, and every form of -{…}- conversion markup."""

from collections import Counter

import pytest

from prepsuite.stats import StageStats
from prepsuite.text.clean import BUILTIN_RULES, clean_records, clean_text, load_rules, resolve_conversion
from prepsuite.textio import Record


@pytest.mark.parametrize(
    "raw, expected",
    [
        # language conversion markup: the simplified-side variant is kept, never the span deleted
        ("-{zh-hans:计算机;zh-hant:電腦}-科学", "计算机科学"),
        ("-{zh-hant:電腦;zh-hans:计算机}-", "计算机"),
        ("-{zh-cn:软件;zh-tw:軟體}-", "软件"),
        ("-{zh-tw:計程車;zh-cn:出租车;zh-hk:的士}-", "出租车"),
        ("-{zh-hant:公車;zh-sg:巴士;}-", "巴士"),
        ("-{zh-tw:捷運;zh-my:地铁}-", "地铁"),
        ("-{zh-tw:捷運;zh-hk:港鐵}-", "捷運"),  # no simplified variant: the first one
        ("-{zh-hans:世界遗产;zh-hant:世界遺產;}-名录", "世界遗产名录"),
        ("时称-{于}-大都", "时称于大都"),
        ("-{R|繁體字}-", "繁體字"),
        ("-{A|zh-hans:人工智能;zh-tw:人工智慧}-研究", "人工智能研究"),
        ("诗人-{H|zh-hans:诗人;zh-hant:詩人;}-", "诗人"),
        ("-{T|zh-hans:计算机;zh-hant:電腦}-标题", "标题"),
        ("a-{D|zh-hans:x;zh-hant:y}-b", "ab"),
        ("-{zh-hans:-{内层}-;zh-hant:外層}-", "内层"),
        ("比例-{1;2}-", "比例1;2"),
    ],
)
def test_language_conversion_markup_is_resolved(raw, expected):
    assert clean_text(raw) == expected


def test_resolve_conversion_prefers_hans_then_cn_then_sg_my():
    assert resolve_conversion("zh-tw:a;zh-my:b;zh-sg:c;zh-cn:d;zh-hans:e") == "e"
    assert resolve_conversion("zh-tw:a;zh-my:b;zh-sg:c;zh-cn:d") == "d"
    assert resolve_conversion("zh-tw:a;zh-my:b;zh-sg:c") == "c"
    assert resolve_conversion("zh-tw:a;zh-my:b") == "b"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("北京（）是首都", "北京是首都"),
        ("北京()是首都", "北京是首都"),
        ("北京（，）是首都", "北京是首都"),
        ("北京（ ； ）是首都", "北京是首都"),
        ("北京(、)是首都", "北京是首都"),
        ("北京（（））是首都", "北京是首都"),
        ("北京（首都）", "北京（首都）"),
        ("见《》一书", "见一书"),
        ("见《论语》一书", "见《论语》一书"),
        ("简称「京」", "简称“京”"),
        ("代表作『将进酒』", "代表作“将进酒”"),
        ("空『』引号", "空引号"),
        ("「」", ""),
    ],
)
def test_brackets_and_quotes(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('<doc id="1" url="u" title="北京">\n北京\n</doc>', "北京"),
        ("[[中华人民共和国]]的首都", "中华人民共和国的首都"),
        ("[[故宫|紫禁城]]", "紫禁城"),
        ("[[北京|]]", "北京"),
        ("{{Infobox city|name=北京}}北京", "北京"),
        ("{{外层|{{内层}}}}正文", "正文"),
        ("'''北京'''是''首都''", "北京是首都"),
        ("首都<ref>北京概况</ref>。", "首都。"),
        ('首都<ref name="a" />。', "首都。"),
        ("首都&lt;ref&gt;来源&lt;/ref&gt;。", "首都。"),
        ("A&amp;B&nbsp;C&#x4E2D;&#25991;", "A&B C中文"),
        ("H<sub>2</sub>O<br/>水", "H2O水"),
        ("正文<!-- 注释 -->继续", "正文继续"),
        ("{| class=wikitable\n|-\n! 年份 !! 人口\n| 2020 || 2487万\n|}\n正文", "正文"),
        ("| name = 北京\n| population = 2000\n正文", "正文"),
        ("残留]]与[[和}}与{{", "残留与和与"),
        ("  多个   空格\t和\n换行　全角  ", "多个 空格 和 换行 全角"),
    ],
)
def test_wiki_markup_and_whitespace(raw, expected):
    assert clean_text(raw) == expected


def test_every_builtin_rule_has_a_name_and_description():
    names = [r.name for r in BUILTIN_RULES]
    assert len(names) == len(set(names))
    assert names[-1] == "normalize_whitespace"
    assert all(r.description for r in BUILTIN_RULES)


def test_rule_hits_are_counted():
    hits: Counter[str] = Counter()
    clean_text("「-{zh-hans:甲;zh-hant:乙}-」（）", hits=hits)
    assert hits["lang_conversion"] == 1
    assert hits["corner_quotes"] == 2
    assert hits["empty_brackets"] == 1


def test_documents_left_empty_are_dropped_counted_and_logged():
    stats = StageStats("clean")
    from prepsuite.textio import RejectLog

    rejects = RejectLog(None)
    recs = [Record("正文", 1), Record("{{Coord|1|2}}（）", 2), Record("又一篇", 3)]
    out = list(clean_records(recs, stats, rejects=rejects, source="in.txt"))
    assert [r.text for r in out] == ["正文", "又一篇"]
    assert stats.rejected["empty_after_cleaning"] == 1
    assert rejects.rows == [("in.txt", "2", "", "", "empty_after_cleaning")]


def test_user_rules_from_yaml_run_before_whitespace_normalisation(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "- name: drop_coords\n  pattern: '坐标：[0-9.]+'\n  replace: ''\n"
        "- name: shout\n  pattern: 'x'\n  replace: 'X'\n  before: links\n",
        encoding="utf-8",
    )
    rules = load_rules(rules_file)
    names = [r.name for r in rules]
    assert names.index("drop_coords") == names.index("normalize_whitespace") - 1
    assert names.index("shout") == names.index("links") - 1
    assert clean_text("北京 坐标：39.9  首都 x", rules) == "北京 首都 X"


@pytest.mark.parametrize(
    "content, message",
    [
        ("- name: a\n", "needs at least 'name' and 'pattern'"),
        ("- name: a\n  pattern: '('\n", "bad pattern"),
        ("- name: a\n  pattern: 'b'\n  before: nosuchrule\n", "no rule named 'nosuchrule'"),
        ("name: a\n", "expected a list"),
        ("- name: a\n  pattern: 'b'\n  replace: '\\1'\n", r"rule 1 \(a\): bad replace '\\\\1': invalid group reference 1"),
        ("- name: a\n  pattern: 'b'\n  replace: '\\g<m>'\n", "bad replace .*unknown group name 'm'"),
        ("- name: a\n  pattern: 'b'\n  repeat: 'false'\n", "repeat must be true or false, not 'false'"),
    ],
)
def test_bad_rules_files_are_refused_with_the_file_named(tmp_path, content, message):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        load_rules(rules_file)
    assert str(rules_file) in str(err.value)


def test_a_rules_file_not_in_utf8_is_refused_with_the_file_named(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_bytes(b"- name: a\n  pattern: '\xff'\n")
    with pytest.raises(ValueError, match=rf"{rules_file}: not UTF-8 \(byte 22\)"):
        load_rules(rules_file)


def test_an_empty_replace_deletes(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("- name: a\n  pattern: 'a'\n  replace:\n", encoding="utf-8")
    assert clean_text("abc", load_rules(rules_file)) == "bc"


def test_a_repeated_rule_stops_when_nothing_changes_and_refuses_to_run_forever(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("- name: empty_matches\n  pattern: 'z*'\n  replace: ''\n  repeat: true\n"
                          "- name: nested\n  pattern: '<[^<>]*>'\n  replace: ''\n  repeat: true\n",
                          encoding="utf-8")
    assert clean_text("a<b<c>d>e", load_rules(rules_file)) == "ae"
    rules_file.write_text("- name: grows\n  pattern: 'a'\n  replace: 'aa'\n  repeat: true\n", encoding="utf-8")
    with pytest.raises(ValueError, match="rule 'grows' makes the text longer"):
        clean_text("a", load_rules(rules_file))
    rules_file.write_text("- name: swaps\n  pattern: '(a)(b)|(b)(a)'\n  replace: '\\2\\1\\4\\3'\n  repeat: true\n",
                          encoding="utf-8")
    with pytest.raises(ValueError, match="rule 'swaps' still changes the text after 1000 repetitions"):
        clean_text("ab", load_rules(rules_file))


def _rule(name: str):
    return next(r for r in BUILTIN_RULES if r.name == name)


@pytest.mark.parametrize("raw", [
    "", " ", "\u3000\t\n", "甲", " 甲", "甲 ", "  甲\u3000\u3000乙\n丙  ", "a\xa0b\u2028c\x85d",
    "a\x1cb\x1fc", "a\x0bb\x0cc\rd",            # whitespace to both str.split and the rule
    "a\u200bb", "\ufeff甲 乙", "a\x00b\x08c", "a\x0eb\x1bc", "a\x7fb",  # only to the rule
])
def test_whitespace_is_normalised_as_the_rule_says_with_its_count(raw):
    """clean_text does normalize_whitespace's work with str.split where it can: the same text and
    the same count of runs replaced as the rule's own regex."""
    rule = _rule("normalize_whitespace")
    expected, runs = rule.apply(raw)
    hits: Counter[str] = Counter()
    assert clean_text(raw, [rule], hits) == expected.strip()
    assert hits["normalize_whitespace"] == runs


def _random_texts(alphabet: str, count: int, seed: int) -> list[str]:
    import random

    rnd = random.Random(seed)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 16))) for _ in range(count)]


def test_language_conversion_markup_is_found_as_the_tempered_dot_pattern_finds_it():
    """The unrolled -{…}- pattern matches exactly where (?:(?!-\\{|\\}-).)* would, bodies included."""
    import re

    tempered = re.compile(r"-\{((?:(?!-\{|\}-).)*)\}-", re.S)
    pattern = _rule("lang_conversion").pattern
    for text in _random_texts("-{}-{}a;|\n", 50_000, seed=11):
        assert [m.span(1) for m in pattern.finditer(text)] == [m.span(1) for m in tempered.finditer(text)], text


def test_corner_quotes_swapped_by_str_methods_as_their_pattern_would():
    for name in ("corner_quotes", "white_corner_quotes"):
        rule = _rule(name)
        assert rule.direct is not None
        for text in _random_texts("「」『』“”a 甲", 5_000, seed=12):
            assert rule.substitute(text) == rule.pattern.subn(rule.replace, text), (name, text)


def test_a_repeated_rule_whose_triggers_are_gone_stops_with_the_same_text_and_count():
    """A repeat rule skips its last, empty round when none of its triggers is left; the text and
    the count are those of repeating the pattern until nothing changes."""
    alphabets = {"lang_conversion": "-{}-{}zh-hans:a;|", "templates": "{{}}{}a",
                 "links": "[[]]|a", "empty_brackets": "()（）, a"}
    for name, alphabet in alphabets.items():
        rule = _rule(name)
        for text in _random_texts(alphabet, 20_000, seed=13):
            expected, count = _reference_repeat(rule, text)
            assert rule.substitute(text) == (expected, count), (name, text)


def _reference_repeat(rule, text: str) -> tuple[str, int]:
    """A repeat rule as first written: the pattern again until a round changes nothing."""
    total = 0
    while True:
        new, n = rule.pattern.subn(rule.replace, text)
        total += n
        if not n or new == text:
            return new, total
        text = new
