"""Extraction from MediaWiki dumps: what is kept, how it is chunked, how bad dumps fail."""

import bz2
import json
import os
import signal
from pathlib import Path

import pytest

import prepsuite

from prepsuite.text.extract import chunk_paths, extract_dump, iter_pages
from prepsuite.text.sample import ARTICLES, SPECIAL_PAGES, build_dump
from prepsuite.textio import InputError


def read_chunks(paths):
    return [[json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines()] for p in paths]


def test_bundled_sample_is_what_the_generator_writes(sample_dump, tmp_path):
    fresh = build_dump(tmp_path / "fresh.xml.bz2")
    assert bz2.decompress(fresh.read_bytes()) == bz2.decompress(sample_dump.read_bytes())


def test_sample_has_the_promised_shape(sample_dump):
    pages = list(iter_pages(sample_dump))
    assert len(pages) >= 50
    assert sum(p.redirect for p in pages) >= 3
    assert {p.ns for p in pages} >= {0, 1, 2, 4, 6, 10, 14}
    text = "".join(p.text for p in pages)
    for marker in ("-{zh-hans:", "-{zh-cn:", "-{zh-sg:", "-{zh-my:", "-{R|", "-{H|", "-{T|", "-{A|",
                   "「", "『", "（）", "《》", "<ref", "{{", "[[", "{|", "'''"):
        assert marker in text, marker


def test_articles_only_round_robin_into_chunks(sample_dump, tmp_path):
    outputs = chunk_paths(tmp_path, 3)
    stats = extract_dump(sample_dump, outputs, processes=2)
    chunks = read_chunks(outputs)
    assert [len(c) for c in chunks] == [16, 16, 16]
    ids = [doc["id"] for chunk in chunks for doc in chunk]
    titles = {doc["title"] for chunk in chunks for doc in chunk}
    assert titles == {a.title for a in ARTICLES}
    assert not titles & {p.title for p in SPECIAL_PAGES}
    # article k goes to chunk k % 3, in dump order
    order = sorted(ids)
    assert [d["id"] for d in chunks[1]] == order[1::3]
    assert stats.docs_out == 48
    assert stats.counters["skipped_redirect"] == 5
    assert stats.counters["skipped_namespace"] == 7
    doc = next(d for c in chunks for d in c if d["title"] == "北京市")
    assert doc["text"].startswith("北京市，簡稱「京」")
    assert "[[" not in doc["text"] and "<ref" not in doc["text"]


def test_extraction_is_byte_identical_whatever_the_process_count(sample_dump, tmp_path):
    one = chunk_paths(tmp_path / "one", 4)
    two = chunk_paths(tmp_path / "two", 4)
    extract_dump(sample_dump, one, processes=1)
    extract_dump(sample_dump, two, processes=2)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def test_gensim_engine_keeps_long_chinese_runs(sample_dump, tmp_path):
    outputs = chunk_paths(tmp_path, 2)
    extract_dump(sample_dump, outputs, engine="gensim", processes=1)
    docs = [d for c in read_chunks(outputs) for d in c]
    # WikiCorpus itself drops articles with no text at all (the template-only page)
    assert {d["title"] for d in docs} == {a.title for a in ARTICLES} - {"地圖模板測試"}
    beijing = next(d for d in docs if d["title"] == "北京市")
    # gensim's own tokenizer would drop this run: it is far longer than 15 characters
    assert "有三千多年建城史和八百多年建都史" in beijing["text"]


@pytest.mark.parametrize("multistream", [False, True])
def test_gensim_engine_gives_the_same_chunks_with_a_pool_and_without(tmp_path, multistream):
    """The gensim engine's pool returns articles in dump order, so the worker count never shows."""
    dump = prepsuite.sample_dump(multistream=multistream)
    one = chunk_paths(tmp_path / "one", 3)
    two = chunk_paths(tmp_path / "two", 3)
    extract_dump(dump, one, engine="gensim", processes=1)
    extract_dump(dump, two, engine="gensim", processes=2)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert sum(p.read_bytes().count(b"\n") for p in one) > 40


def test_plain_xml_dumps_work_too(tmp_path):
    xml = build_dump(tmp_path / "dump.xml")
    outputs = chunk_paths(tmp_path / "out", 1)
    assert extract_dump(xml, outputs, processes=1).docs_out == 48


ESCAPED_SURROGATE = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <siteinfo><sitename>t</sitename><base>https://zh.wikipedia.org/wiki/t</base>
    <namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>
  <page><title>代理</title><ns>0</ns><id>7</id>
    <revision><id>70</id><text bytes="40" xml:space="preserve">前&amp;#xD800;後，半個代理對。</text></revision></page>
</mediawiki>
"""


IDS_OUT_OF_ORDER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <siteinfo><sitename>t</sitename><base>https://zh.wikipedia.org/wiki/t</base>
    <namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>
  <page><title>甲</title><ns>0</ns><id>5</id>
    <revision><id>50</id><text bytes="6" xml:space="preserve">甲文</text></revision></page>
  <page><title>乙</title><ns>0</ns><id>3</id>
    <revision><id>30</id><text bytes="6" xml:space="preserve">乙文</text></revision></page>
</mediawiki>
"""


@pytest.mark.parametrize("chunks", [1, 2])
def test_page_ids_out_of_order_are_refused_where_chunks_are_merged_on_them(tmp_path, chunks):
    """Round-robin chunks go back together by page id: a dump whose ids do not increase would
    come out in another order with 2 chunks than with 1, so it is refused, naming the page."""
    dump = tmp_path / "dump.xml"
    dump.write_text(IDS_OUT_OF_ORDER, encoding="utf-8")
    outputs = chunk_paths(tmp_path / "out", chunks)
    with pytest.raises(InputError, match=r"dump.xml: page id 3 \('乙'\) comes after page id 5"):
        extract_dump(dump, outputs, engine="fast", processes=1)
    assert not any(p.exists() for p in outputs)


@pytest.mark.parametrize("engine", ["wikiextractor", "fast", "gensim"])
def test_an_escaped_lone_surrogate_does_not_break_the_chunk(tmp_path, engine):
    """`&amp;#xD800;` names a lone surrogate, which no UTF-8 file can hold: U+FFFD instead (as
    html.unescape gives), not a crash while writing the chunk."""
    dump = tmp_path / "dump.xml.bz2"
    dump.write_bytes(bz2.compress(ESCAPED_SURROGATE.encode()))
    outputs = chunk_paths(tmp_path / "out", 1)
    extract_dump(dump, outputs, engine=engine, processes=1)
    (doc,) = read_chunks(outputs)[0]
    from prepsuite.text.clean import clean_text

    assert clean_text(doc["text"]) == "前\ufffd後，半個代理對。"


CLOCK_PAGES = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <siteinfo><sitename>t</sitename><base>https://zh.wikipedia.org/wiki/t</base>
    <namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>
  <page><title>今年</title><ns>0</ns><id>7</id>
    <revision><id>70</id><timestamp>2019-07-04T05:06:07Z</timestamp>
      <text bytes="9" xml:space="preserve">{text}</text></revision></page>
  <page><title>無時</title><ns>0</ns><id>8</id>
    <revision><id>80</id><text bytes="9" xml:space="preserve">{text}</text></revision></page>
</mediawiki>
""".format(text="今年是{{CURRENTYEAR}}年{{CURRENTMONTH}}月{{CURRENTDAY}}日{{CURRENTHOUR}}時，{{CURRENTTIME}}。")


def test_time_magic_words_read_the_revision_not_the_day_of_the_run(tmp_path, monkeypatch):
    """wikiextractor fills {{CURRENTYEAR}} and its kin from the clock of the run; the corpus must
    not change with the day, so they come from the page's revision <timestamp> (empty without one)."""
    import time

    dump = tmp_path / "dump.xml.bz2"
    dump.write_bytes(bz2.compress(CLOCK_PAGES.encode()))
    real = time.strftime
    texts = []
    for day in ("2030-02-03 04:05:06", "2041-12-31 23:59:59"):
        now = time.strptime(day, "%Y-%m-%d %H:%M:%S")
        monkeypatch.setattr(time, "strftime", lambda fmt, t=None, now=now: real(fmt, now if t is None else t))
        assert time.strftime("%Y") == day[:4]
        outputs = chunk_paths(tmp_path / day[:4], 1)
        extract_dump(dump, outputs, processes=1)
        texts.append([doc["text"] for doc in read_chunks(outputs)[0]])
    assert texts[0] == texts[1]
    assert texts[0] == ["今年是2019年07月04日05時，05:06:07。", "今年是年月日時，。"]


# --- bad input: one clear error, and no chunk left behind ---------------------------------------

def assert_refused(dump, tmp_path, match):
    outputs = chunk_paths(tmp_path / "out", 2)
    with pytest.raises(InputError, match=match) as err:
        extract_dump(dump, outputs, processes=1)
    assert str(dump) in str(err.value)
    assert not any(p.exists() for p in outputs)
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_missing_dump(tmp_path):
    assert_refused(tmp_path / "nope.xml.bz2", tmp_path, "dump not found")


def test_truncated_bz2(sample_dump, tmp_path):
    big = build_dump(tmp_path / "big.xml.bz2", repeat=20)
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size // 2])
    assert_refused(cut, tmp_path, r"byte \d+: truncated bz2 stream")


def test_not_a_mediawiki_dump(tmp_path):
    bogus = tmp_path / "feed.xml"
    bogus.write_text('<?xml version="1.0"?>\n<rss><channel/></rss>\n', encoding="utf-8")
    assert_refused(bogus, tmp_path, "not a MediaWiki XML export")


def test_not_bzip2_at_all(tmp_path):
    bogus = tmp_path / "dump.xml.bz2"
    bogus.write_text("<mediawiki></mediawiki>", encoding="utf-8")
    assert_refused(bogus, tmp_path, "not a bzip2 file")


def test_utf16_dump(tmp_path):
    xml = build_dump(tmp_path / "dump.xml").read_text(encoding="utf-8")
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(xml.encode("utf-16"))
    assert_refused(utf16, tmp_path, "UTF-16")


def test_truncated_plain_xml_names_the_line(tmp_path):
    xml = build_dump(tmp_path / "dump.xml").read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(xml[: len(xml) // 2], encoding="utf-8")
    assert_refused(cut, tmp_path, r"line \d+, column \d+: truncated XML")


# --- several processes: the main one only decompresses and cuts, workers parse -------------------

@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few pages, so that the bundled sample makes many of them."""
    from prepsuite.text import extract
    from prepsuite.text.multistream import index_for

    monkeypatch.setattr(extract, "BLOCK_BYTES", 3000)


@pytest.mark.parametrize("engine", ["fast", "wikiextractor"])
def test_several_processes_give_the_same_chunks(small_blocks, tmp_path, engine):
    dump = build_dump(tmp_path / "d.xml.bz2", repeat=3)
    one, two = chunk_paths(tmp_path / "one", 3), chunk_paths(tmp_path / "two", 3)
    s1 = extract_dump(dump, one, engine=engine, processes=1)
    s2 = extract_dump(dump, two, engine=engine, processes=3)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert (s1.docs_in, s1.docs_out, s1.bytes_in) == (s2.docs_in, s2.docs_out, s2.bytes_in)
    assert dict(s1.counters) == dict(s2.counters)


@pytest.mark.parametrize("damage", ["truncate", "bad_tag", "bad_entity", "garbage_after"])
def test_bad_xml_fails_alike_with_one_or_several_processes(small_blocks, tmp_path, damage):
    xml = build_dump(tmp_path / "d.xml", repeat=2).read_bytes()
    middle = xml.index(b"</text>", len(xml) // 2)
    bad = {
        "truncate": xml[: int(len(xml) * 0.6)],
        "bad_tag": xml[:middle] + b"</txet>" + xml[middle + 7:],
        "bad_entity": xml[:middle] + b" &bogus; " + xml[middle:],
        "garbage_after": xml + b"<extra/>\n",
    }[damage]
    path = tmp_path / "bad.xml"
    path.write_bytes(bad)
    errors = []
    for processes in (1, 2):
        with pytest.raises(InputError) as err:
            extract_dump(path, chunk_paths(tmp_path / f"out{processes}", 2), engine="fast", processes=processes)
        errors.append(str(err.value))
        assert not list((tmp_path / f"out{processes}").glob("*")) if (tmp_path / f"out{processes}").exists() else True
    assert errors[0] == errors[1]
    assert errors[0].startswith(f"{path}: line ")


@pytest.mark.parametrize("processes", [1, 2])
def test_gensim_engine_names_the_line_of_malformed_xml_and_writes_nothing(tmp_path, processes):
    """gensim's reader raised ElementTree's bare error (in get_texts' reader process: a hang)."""
    xml = bz2.decompress(Path(prepsuite.sample_dump()).read_bytes())
    at = xml.index(b"<page>", len(xml) // 2)
    dump = tmp_path / "dump.xml.bz2"
    dump.write_bytes(bz2.compress(xml[:at] + b"<page><title>x</title></pag>" + xml[at:]))
    line = xml[:at].count(b"\n") + 1
    outputs = chunk_paths(tmp_path / "out", 2)
    with pytest.raises(InputError, match=rf"dump.xml.bz2: line {line}, column \d+: malformed XML \(mismatched tag\)"):
        extract_dump(dump, outputs, engine="gensim", processes=processes)
    assert not any(p.exists() for p in outputs)


def _die(*args: object) -> None:
    """A worker killed mid-task, as the kernel's out-of-memory killer does it."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.timeout(120)  # multiprocessing.Pool waited for the lost task for ever
@pytest.mark.parametrize("multistream", [False, True])
def test_a_killed_worker_stops_the_extraction_with_an_error(tmp_path, monkeypatch, multistream):
    from prepsuite.procpool import WorkerDied
    from prepsuite.text import extract
    from prepsuite.text.multistream import index_for

    monkeypatch.setitem(extract._PAGE_TEXT, "fast", _die)
    dump = prepsuite.sample_dump(multistream=multistream)
    outputs = chunk_paths(tmp_path / "out", 2)
    with pytest.raises(WorkerDied, match=r"zhwiki-20260101.*a worker process died"):
        if multistream:  # chunk jobs: pages read here, their text made by the pool
            extract.extract_chunks(dump, index_for(dump), [0, 1], 2, dict(enumerate(outputs)), processes=2,
                                   engine="fast")
        else:  # the whole dump: blocks of pages parsed and converted by the pool
            extract_dump(dump, outputs, engine="fast", processes=2)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
