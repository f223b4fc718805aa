"""The byte-level page reader gives exactly ElementTree's pages, and fails as clearly."""

import bz2
import io
from pathlib import Path

import pytest

from prepsuite.text.extract import parse_pages, parse_pages_etree
from prepsuite.text.sample import build_dump, build_multistream
from prepsuite.textio import InputError

HEAD = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="zh">\n'
        "  <siteinfo>\n    <sitename>维基百科</sitename>\n    <base>https://zh.wikipedia.org/wiki/X</base>\n"
        '    <namespaces>\n      <namespace key="10" case="first-letter">Template</namespace>\n'
        "    </namespaces>\n  </siteinfo>\n")


def page(title="甲", ns="0", pid="1", text="正文", extra="", text_tag=None, rev_extra=""):
    text_xml = text_tag if text_tag is not None else f'<text bytes="9" xml:space="preserve">{text}</text>'
    return (f"  <page>\n    <title>{title}</title>\n    <ns>{ns}</ns>\n    <id>{pid}</id>\n{extra}"
            f"    <revision>\n      <id>{pid}1</id>\n{rev_extra}      <timestamp>2024-01-01T00:00:00Z</timestamp>\n"
            f"      <model>wikitext</model>\n      {text_xml}\n    </revision>\n  </page>\n")


def both(xml: bytes | str, path: str = "dump.xml"):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    results = []
    for reader in (parse_pages, parse_pages_etree):
        site: list = []
        try:
            pages = list(reader(io.BytesIO(data), Path(path), lambda: 0, None, site))
            results.append((pages, site))
        except InputError as err:
            results.append(err)
    return results


def test_same_pages_as_elementtree_on_the_sample_dumps(sample_dump, tmp_path):
    xml = bz2.decompress(sample_dump.read_bytes())
    fast, slow = both(xml)
    assert fast == slow and len(fast[0]) >= 60
    assert {pg.timestamp for pg in fast[0]} == {"2026-01-01T00:00:00Z"}
    dump, _ = build_multistream(tmp_path / "s-multistream.xml.bz2", repeat=2, pages_per_stream=7)
    fast, slow = both(bz2.decompress(dump.read_bytes()))
    assert fast == slow and len(fast[0]) >= 120


@pytest.mark.parametrize("xml", [
    page(text="a &lt;b&gt; &amp;amp; &quot;q&quot; &apos; &#20013;&#x6587;"),   # every entity
    page(title="A &amp; B"),
    page(extra='    <redirect title="乙" />\n'),
    page(extra='    <redirect title="乙"></redirect>\n'),                          # long form: fallback
    page(extra="    <restrictions>edit=sysop</restrictions>\n"),                  # fallback
    page(text_tag='<text bytes="0" />'),                                           # empty text
    page(text_tag='<text deleted="deleted" bytes="0"/>'),
    page(text="<![CDATA[x < y]]>"),                                                # CDATA: fallback
    page(text="a<!-- note -->b"),                                                   # XML comment: fallback
    page(text="line one&#13;\nline two"),
    page(text="line one\r\nline two"),                                             # CR: XML normalises it
    page(text="\n\n  spaced  \n"),
    page(title="A\r\nB"),                                                          # CR in a title
    page(text="x ]]&gt; y &amp; z"),
    page(ns="1") + page(pid="2", ns="-1"),
    page(rev_extra="      <comment>a &lt;comment&gt;</comment>\n"),
    page(rev_extra="      <contributor>\n        <username>u</username>\n        <id>7</id>\n      </contributor>\n"),
])
def test_unusual_pages_read_as_elementtree_reads_them(xml):
    fast, slow = both(HEAD + xml + "</mediawiki>\n")
    assert fast == slow
    assert fast[1] and fast[1][0].template_namespace == "Template"


def test_a_page_without_revision_and_a_dump_without_pages():
    no_rev = "  <page>\n    <title>甲</title>\n    <ns>0</ns>\n    <id>3</id>\n  </page>\n"
    fast, slow = both(HEAD + no_rev + "</mediawiki>\n")
    assert fast == slow and fast[0][0].text == ""
    fast, slow = both(HEAD + "</mediawiki>\n")
    assert fast == slow and fast[0] == []


def error_line(err: InputError) -> int:
    return int(str(err).split(": line ")[1].split(",")[0])


@pytest.mark.parametrize("xml", [
    page(text="a & b"),                                      # bare ampersand
    page(text="a &nbsp; b"),                                 # an HTML entity XML does not define
    page(text="a <b> c"),                                    # unclosed tag
    page(text="ok").replace("</revision>", "</revisio>"),
    page(text="bad \x01 char"),
    page(text="a &amp; ]]> b"),                              # ']]>' is not allowed in character data
])
def test_malformed_pages_name_the_line_elementtree_names(xml):
    fast, slow = both(HEAD + page(pid="5") + xml + "</mediawiki>\n")
    assert isinstance(fast, InputError) and isinstance(slow, InputError), fast
    assert str(fast).startswith("dump.xml: line ") and "malformed XML" in str(fast)
    assert error_line(fast) == error_line(slow)


def test_invalid_utf8_is_an_error_naming_the_line():
    data = (HEAD + page(text="好")).encode("utf-8").replace("好".encode("utf-8"), b"\xe5\xa5") + b"</mediawiki>\n"
    fast, slow = both(data)
    assert isinstance(fast, InputError) and isinstance(slow, InputError)
    assert error_line(fast) == error_line(slow) == 17


@pytest.mark.parametrize("cut_at", [0.3, 0.5, 0.7, 0.99])
def test_truncated_xml_is_reported_with_its_line(cut_at, tmp_path):
    xml = bz2.decompress(build_dump(tmp_path / "d.xml.bz2").read_bytes())
    cut = xml[: int(len(xml) * cut_at)]
    fast, slow = both(cut)
    assert isinstance(fast, InputError) and isinstance(slow, InputError)
    assert "truncated XML" in str(fast)
    line_fast = int(str(fast).split("line ")[1].split(",")[0])
    assert line_fast == cut.count(b"\n") + 1


def test_garbage_between_pages_or_after_the_last():
    fast, _ = both(HEAD + page() + "  <oops/>\n" + page(pid="2") + "</mediawiki>\n")
    assert isinstance(fast, InputError) and "between pages" in str(fast)
    fast, _ = both(HEAD + page() + "</mediawiki>\n<more/>\n")
    assert isinstance(fast, InputError) and "after the last page" in str(fast)


def real_page(pid, contributor, extras="", text="正文 [[連結]]", sha1="<sha1>abc123</sha1>\n"):
    """A page laid out as Wikimedia's zhwiki exports are (fields in MediaWiki's order)."""
    return (f"  <page>\n    <title>頁{pid}</title>\n    <ns>0</ns>\n    <id>{pid}</id>\n    <revision>\n"
            f"      <id>{pid}0</id>\n      <parentid>{pid}9</parentid>\n"
            f"      <timestamp>2024-05-0{pid % 9 + 1}T10:00:00Z</timestamp>\n"
            f"      <contributor>\n        {contributor}\n      </contributor>\n{extras}"
            "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="20" sha1="abc123" xml:space="preserve">{text}</text>\n'
            f"      {sha1}    </revision>\n  </page>\n")


def test_pages_in_mediawikis_field_order_take_the_fast_pattern_with_the_same_result():
    from prepsuite.text.pagescan import _PAGE, _USUAL_PAGE, _timestamp

    usual = [
        real_page(1, "<username>甲</username>\n        <id>7</id>"),
        real_page(2, "<ip>192.0.2.1</ip>", "      <minor />\n"),
        real_page(3, "<username>乙</username>\n        <id>8</id>",
                  "      <comment>/* 歷史 */ 補充</comment>\n      <origin>30</origin>\n"),
        real_page(4, "<ip>2001:db8::1</ip>", "      <minor/>\n      <comment>修正</comment>\n", sha1=""),
        real_page(5, "<username>丙</username><id>9</id>", text="a &lt;b&gt; &#20013;"),
    ]
    other = [  # valid, in another shape: the generic pattern or ElementTree reads them
        real_page(6, '<username deleted="deleted" />'),
        real_page(7, "<username>丁</username>\n        <id>1</id>", "      <comment>&quot;x&quot;</comment>\n"),
        page(pid="8"),
        real_page(9, "<username>戊</username>\n        <id>2</id>", "      <restrictions>x</restrictions>\n"),
    ]
    for xml in usual:
        data = xml.strip().encode()
        fast, generic = _USUAL_PAGE.match(data), _PAGE.match(data)
        assert fast is not None and generic is not None, xml
        names = ("title", "ns", "id", "redirect", "revid", "text")
        assert (fast.span(), fast.group(*names)) == (generic.span(), generic.group(*names))
        assert fast.group("timestamp").decode() == _timestamp(data, generic.end("revid"), generic.end())
    assert all(_USUAL_PAGE.match(xml.strip().encode()) is None for xml in other)
    mixed = HEAD + "".join(p for pair in zip(usual, other + [page(pid="10")]) for p in pair) + "</mediawiki>\n"
    fast, slow = both(mixed)
    assert fast == slow and len(fast[0]) == 10
    assert [pg.timestamp[:10] for pg in fast[0][:5:2]] == ["2024-05-02", "2024-05-03", "2024-05-04"]
