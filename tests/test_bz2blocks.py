"""A single-stream dump cut at its bz2 blocks: every page read exactly once, whatever the cut."""

import bz2
import json
import random
from pathlib import Path

import pytest

import prepsuite
from prepsuite.text import bz2blocks
from prepsuite.text.bz2blocks import BlockCursor, BlockPlan, find_magics, plan_blocks
from prepsuite.stats import StageStats
from prepsuite.text.extract import chunk_docs, iter_pages, parse_pages
from prepsuite.text.multistream import open_chunk, plan_chunks, write_plan
from prepsuite.text.sample import article_count, build_dump, iter_dump_xml
from prepsuite.textio import InputError


def pages_of(path: Path) -> list[tuple[int, str, str]]:
    return [(pg.id, pg.title, pg.text) for pg in iter_pages(path)]


def chunk_pages(dump: Path, chunks: int, index=None) -> list[list[tuple[int, str, str]]]:
    """Every chunk's pages, each chunk read on its own as a workflow job reads it."""
    found = []
    for k in range(chunks):
        reader = open_chunk(dump, index, k, chunks)
        try:
            found.append([(pg.id, pg.title, pg.text)
                          for pg in parse_pages(reader, dump, lambda: reader.position)])
        finally:
            reader.close()
    return found


@pytest.fixture(scope="module")
def small_blocks(tmp_path_factory) -> Path:
    """The sample 20 times over with bzip2's 100 kB blocks: 8 blocks in one stream."""
    return build_dump(tmp_path_factory.mktemp("blocks") / "dump.xml.bz2", repeat=20, compresslevel=1)


@pytest.fixture(scope="module")
def big_page(tmp_path_factory) -> Path:
    """A page of 450 kB of random text (several blocks) amid the sample's pages."""
    rng = random.Random(7)
    text = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(150_000))
    page = (f"  <page>\n    <title>大页面</title>\n    <ns>0</ns>\n    <id>990001</id>\n"
            f"    <revision>\n      <id>1</id>\n      <text xml:space=\"preserve\">{text}</text>\n"
            f"    </revision>\n  </page>\n")
    xml = "".join(iter_dump_xml(3))
    cut = xml.index("  <page>", xml.index("</page>"))
    path = tmp_path_factory.mktemp("big") / "big.xml.bz2"
    path.write_bytes(bz2.compress((xml[:cut] + page + xml[cut:]).encode("utf-8"), 1))
    return path


def test_every_block_cut_out_decompresses_to_its_part_of_the_file(small_blocks):
    data = small_blocks.read_bytes()
    marks = find_magics(data)
    assert [end for _, end in marks] == [False] * 8 + [True]
    assert marks[0][0] == 32  # right after 'BZh1'
    parts = [bz2blocks._decompress_block(data, a, b) for (a, _), (b, _) in zip(marks, marks[1:])]
    assert b"".join(parts) == bz2.decompress(data)


@pytest.mark.parametrize("chunks", [1, 2, 3, 5, 8, 13])
def test_chunks_hold_every_page_once_in_dump_order(small_blocks, chunks):
    found = chunk_pages(small_blocks, chunks)
    assert [pg for chunk in found for pg in chunk] == pages_of(small_blocks)
    if chunks <= 8:
        assert all(found), "with no more chunks than blocks, every chunk has pages"


def test_more_chunks_than_blocks_leaves_some_empty(small_blocks):
    plan = plan_blocks(small_blocks, 20)
    assert plan.starts == sorted(plan.starts)
    assert len({s for s in plan.starts if s < plan.dump_bytes * 8}) == 8  # one chunk per block start
    found = chunk_pages(small_blocks, 20)
    assert sum(1 for chunk in found if not chunk) == 12
    assert [pg for chunk in found for pg in chunk] == pages_of(small_blocks)


def test_empty_chunks_are_documents_without_pages_even_the_first(small_blocks):
    from prepsuite.text.bz2blocks import BlockChunkReader, BlockPlan

    size = small_blocks.stat().st_size
    plan = BlockPlan([32, 32, plan_blocks(small_blocks, 2).starts[1], size * 8], size)
    found = []
    for k in range(4):
        reader = BlockChunkReader(small_blocks, plan, k)
        found.append([(pg.id, pg.title, pg.text) for pg in parse_pages(reader, small_blocks, lambda: 0)])
        reader.close()
    assert found[0] == found[3] == [] and found[1] and found[2]
    assert found[1] + found[2] == pages_of(small_blocks)


@pytest.mark.parametrize("chunks", [2, 4, 6, 9])
def test_a_page_longer_than_a_chunk_is_read_whole_by_the_chunk_it_starts_in(big_page, chunks):
    plan = plan_blocks(big_page, chunks)
    found = chunk_pages(big_page, chunks)
    assert [pg for chunk in found for pg in chunk] == pages_of(big_page)
    owner = [k for k, chunk in enumerate(found) if any(pg[0] == 990001 for pg in chunk)]
    assert len(owner) == 1 and len(plan.starts) == chunks


def test_streams_concatenated_in_one_file_are_read_across_without_the_index():
    dump = prepsuite.sample_dump(multistream=True)  # its index is not given
    found = chunk_pages(dump, 2, index=None)
    assert [pg for chunk in found for pg in chunk] == pages_of(dump)


def test_a_magic_occurring_by_chance_inside_a_block_costs_a_retry_not_data(small_blocks, monkeypatch):
    honest = plan_blocks(small_blocks, 3).starts
    real = bz2blocks.find_magics

    def with_false_marks(data, lo=0, hi=None):
        """Every block also 'starts' 4,001 and 40,001 bits after its magic, inside itself."""
        marks = real(data, lo, hi)
        limit = len(data) if hi is None else hi
        fake = [(bit + gap, False) for bit, end in marks if not end for gap in (4001, 40001)]
        return sorted(marks + [m for m in fake if m[0] // 8 < limit])

    monkeypatch.setattr(bz2blocks, "find_magics", with_false_marks)
    assert len(with_false_marks(small_blocks.read_bytes())) == 9 + 15  # the last block is short
    assert plan_blocks(small_blocks, 3).starts == honest  # a false start is passed over
    found = chunk_pages(small_blocks, 3)
    assert [pg for chunk in found for pg in chunk] == pages_of(small_blocks)


def test_a_truncated_dump_is_named_with_the_byte_where_its_last_block_starts(small_blocks, tmp_path):
    data = small_blocks.read_bytes()
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError, match=r"cut\.xml\.bz2: byte \d+: truncated bz2 stream"):
        chunk_pages(cut, 2)


def test_a_damaged_block_is_named_by_its_byte(small_blocks, tmp_path):
    data = bytearray(small_blocks.read_bytes())
    marks = [bit for bit, end in find_magics(bytes(data)) if not end]
    middle = (marks[4] + marks[5]) // 16
    data[middle] ^= 0xFF
    bad = tmp_path / "bad.xml.bz2"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"bad\.xml\.bz2: byte {marks[4] // 8}: cannot decompress the bz2 block"):
        chunk_pages(bad, 1)


def test_not_a_bzip2_file_is_refused_by_name(tmp_path):
    plain = tmp_path / "dump.xml.bz2"
    plain.write_text("<mediawiki/>")
    with pytest.raises(InputError, match=r"dump\.xml\.bz2: byte 0: not a bzip2 file"):
        plan_blocks(plain, 2)


def test_a_block_plan_written_once_is_what_every_job_reads(small_blocks, tmp_path):
    out = tmp_path / "blocks.json"
    plan = write_plan(small_blocks, None, 3, out)
    record = json.loads(out.read_text())
    assert record["kind"] == "bz2 blocks" and record["starts"] == plan.starts
    assert plan_chunks(small_blocks, out, 3) == plan
    assert chunk_pages(small_blocks, 3, index=out) == chunk_pages(small_blocks, 3)
    with pytest.raises(InputError, match="planned for 3 chunks, not 4"):
        plan_chunks(small_blocks, out, 4)
    other = build_dump(tmp_path / "other.xml.bz2", repeat=20, compresslevel=2)
    with pytest.raises(InputError, match="planned for"):
        plan_chunks(other, out, 3)


def test_cursor_counts_compressed_bytes_and_stops_after_the_last_block(small_blocks):
    with open(small_blocks, "rb") as raw:
        cursor = BlockCursor(raw, small_blocks, 32)
        blocks = list(cursor)
    assert len(blocks) == 8
    assert cursor.done == small_blocks.stat().st_size - 4  # all of it after the "BZh1" header


def test_cli_plans_once_then_processes_each_chunk_from_its_own_blocks(prep, small_blocks, tmp_path):
    result = prep("plan", small_blocks, "-o", tmp_path / "blocks.json", "--chunks", "3")
    assert "bz2 blocks of one stream in 3 chunks" in result.output
    parts = []
    for k in (1, 2, 3):
        out = tmp_path / f"part-{k}.txt"
        prep("process", small_blocks, out, "--chunk", str(k), "--chunks", "3",
             "--index", tmp_path / "blocks.json", "--extract-engine", "fast")
        parts.append(out.read_bytes())
    whole = tmp_path / "whole.txt"
    prep("process", small_blocks, whole, "--chunk", "1", "--chunks", "1", "--extract-engine", "fast")
    assert all(parts) and b"".join(parts) == whole.read_bytes()
    assert len(whole.read_bytes().splitlines()) == 20 * article_count()


def _page_xml(pid: int, text: str) -> str:
    return (f"  <page>\n    <title>P{pid}</title>\n    <ns>0</ns>\n    <id>{pid}</id>\n"
            f"    <revision>\n      <id>{pid}</id>\n      <text xml:space=\"preserve\">{text}</text>\n"
            f"    </revision>\n  </page>\n")


def test_a_page_tag_cut_by_the_end_of_a_chunk_with_no_other_page_start_is_still_read(tmp_path):
    """Block 1 holds the tail of a long page and the first bytes of the next <page> tag, nothing
    else: with a chunk made of block 1 alone, that page starts in it and must be read by it."""
    rng = random.Random(1)
    letters = []
    while len(letters) < 400_000:  # no runs, which bzip2 would shorten: block ends stay put
        c = rng.choice("abcdefghijklmnopqrstuvwxyz")
        if not letters or c != letters[-1]:
            letters.append(c)
    xml = "".join(iter_dump_xml(1))
    cut = xml.index("  <page>")
    path = tmp_path / "straddle.xml.bz2"
    length = 250_000
    for _ in range(8):  # move the next page's tag until block 1 ends inside it
        data = (xml[:cut] + _page_xml(900001, "short") + _page_xml(900002, "".join(letters[:length]))
                + _page_xml(900003, "after the cut") + xml[cut:]).encode("utf-8")
        path.write_bytes(bz2.compress(data, 1))
        with open(path, "rb") as raw:
            blocks = list(BlockCursor(raw, path, 32))
        tag = data.rindex(b"<page>", 0, data.index(b"<id>900003</id>"))
        end1 = len(blocks[0][1]) + len(blocks[1][1])
        if tag < end1 < tag + len(b"<page>"):
            break
        length += end1 - 3 - tag
    assert tag < end1 < tag + len(b"<page>"), "could not build the layout"
    plan = BlockPlan([32, blocks[1][0], blocks[2][0]], path.stat().st_size)
    found = []
    for k in range(3):
        reader = bz2blocks.BlockChunkReader(path, plan, k)
        found.append([pg.id for pg in parse_pages(reader, path, lambda: 0)])
        reader.close()
    assert found[1] == [900003]
    assert [pid for chunk in found for pid in chunk] == [pg[0] for pg in pages_of(path)]


def test_a_long_run_without_any_block_marker_is_refused_not_read_into_memory(small_blocks, tmp_path):
    """A partly downloaded file whose tail is zeros (space allocated, never written)."""
    data = small_blocks.read_bytes()
    holey = tmp_path / "holey.xml.bz2"
    holey.write_bytes(data[: len(data) // 2] + bytes(12 << 20))
    with pytest.raises(InputError, match=r"holey\.xml\.bz2: byte \d+: no bz2 block or end of stream in the "
                                         r"10 MiB after the block starting there"):
        chunk_pages(holey, 2)


def test_progress_counts_each_chunk_up_to_its_planned_size(small_blocks):
    plan = plan_blocks(small_blocks, 3)
    for k, size in enumerate(plan.sizes()):
        reader = open_chunk(small_blocks, None, k, 3)
        seen = []
        for _ in parse_pages(reader, small_blocks, lambda: 0, progress=lambda _: seen.append(reader.done)):
            pass
        reader.close()
        assert seen == sorted(seen) and 0 <= seen[0] and seen[-1] <= size
        if k < 2:  # read on into the next chunk's blocks to finish its last page: all of its own done
            assert reader.done == size


def test_a_dump_without_pages_gives_chunks_without_pages(tmp_path):
    xml = "".join(iter_dump_xml(1))
    empty = tmp_path / "empty.xml.bz2"
    empty.write_bytes(bz2.compress((xml[: xml.index("  <page>")] + "</mediawiki>\n").encode("utf-8")))
    assert chunk_pages(empty, 2) == [[], []] and pages_of(empty) == []


def test_a_malformed_page_is_named_by_its_bz2_block_and_line_there(tmp_path):
    """Cut at its blocks, a single-stream dump's chunk names the block the bad line came from (by
    the bit where it starts, as bzip2recover cuts a file into blocks) and the line and column in
    that block's text."""
    xml = "".join(iter_dump_xml(20)).encode("utf-8")
    pos = xml.index(b"</revision>", len(xml) * 3 // 4)
    damaged = tmp_path / "damaged.xml.bz2"
    damaged.write_bytes(bz2.compress(xml[:pos] + b"</revisio>" + xml[pos + len(b"</revision>"):], 1))
    with open(damaged, "rb") as raw:
        blocks = list(BlockCursor(raw, damaged, 32))
    holding = [(first, data) for first, data in blocks if b"</revisio>" in data]
    assert len(holding) == 1, "the damaged tag must lie inside one block"
    first, data = holding[0]
    at = data.index(b"</revisio>") + 2  # where the parser points: the closing tag's name
    line, column = data.count(b"\n", 0, at) + 1, at - data.rfind(b"\n", 0, at)
    chunk = 1 if first >= plan_blocks(damaged, 2).starts[1] else 0
    with pytest.raises(InputError) as caught:
        list(chunk_docs(damaged, None, chunk, 2, StageStats("extract"), engine="fast"))
    assert str(caught.value).startswith(
        f"{damaged}: bz2 block at bit {first} (byte {first // 8}), line {line}, column {column}: "
        "malformed XML in the page titled "), str(caught.value)


@pytest.mark.parametrize("nth", [0, 3])
def test_a_malformed_page_in_a_chunk_s_first_block_is_named_by_its_line_in_the_block(tmp_path, nth):
    """A chunk's first block begins with the end of a page of the chunk before, which the chunk
    skips: its lines still count, so the line named is the line in the block's own text."""
    xml = "".join(iter_dump_xml(20)).encode("utf-8")
    plain = tmp_path / "plain.xml.bz2"
    plain.write_bytes(bz2.compress(xml, 1))
    second = plan_blocks(plain, 2).starts[1]
    with open(plain, "rb") as raw:
        data = dict(BlockCursor(raw, plain, 32))[second]
    # the block's text starts somewhere in xml: find it, then a </revision> after its first <page>
    offset = xml.index(data[:4096])
    in_block = data.index(b"</revision>", data.index(b"<page>"))
    for _ in range(nth):
        in_block = data.index(b"</revision>", in_block + 1)
    pos = offset + in_block
    damaged = tmp_path / "damaged.xml.bz2"
    damaged.write_bytes(bz2.compress(xml[:pos] + b"</revisio>" + xml[pos + len(b"</revision>"):], 1))
    assert plan_blocks(damaged, 2).starts[1] == second  # the damage moved no block boundary
    with open(damaged, "rb") as raw:
        first, block = next((f, d) for f, d in BlockCursor(raw, damaged, 32) if f == second)
    at = block.index(b"</revisio>") + 2
    line, column = block.count(b"\n", 0, at) + 1, at - block.rfind(b"\n", 0, at)
    assert block.index(b"<page>") < at and line > 1
    with pytest.raises(InputError) as caught:
        list(chunk_docs(damaged, None, 1, 2, StageStats("extract"), engine="fast"))
    assert str(caught.value).startswith(
        f"{damaged}: bz2 block at bit {first} (byte {first // 8}), line {line}, column {column}: "), str(caught.value)


def test_an_empty_bz2_file_is_not_a_dump_whatever_the_chunk_count(tmp_path):
    empty = tmp_path / "empty-pages-articles.xml.bz2"
    empty.write_bytes(bz2.compress(b""))
    for chunks in (1, 2):
        with pytest.raises(InputError, match=r"empty-pages-articles.xml.bz2: byte 4: the bzip2 data is empty; "
                                             "not a MediaWiki XML export"):
            plan_blocks(empty, chunks)


def _big_page_xml(chars: int = 150_000) -> tuple[bytes, int]:
    """The sample's pages with a page of ``chars`` random characters (several 100 kB blocks)
    after the first one; and where the <page> tag after that big page starts."""
    rng = random.Random(11)
    text = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(chars))
    xml = "".join(iter_dump_xml(3))
    cut = xml.index("  <page>", xml.index("</page>"))
    page = (f"  <page>\n    <title>大页面</title>\n    <ns>0</ns>\n    <id>1</id>\n"
            f"    <revision>\n      <id>1</id>\n      <text xml:space=\"preserve\">{text}</text>\n"
            f"    </revision>\n  </page>\n")
    data = (xml[:cut].replace("<id>1</id>", "<id>0</id>", 1) + page + xml[cut:]).encode("utf-8")
    return data, len(xml[:cut].encode("utf-8")) + len(page.encode("utf-8")) + 2  # the tag's '<'


def test_a_page_tag_cut_over_several_tiny_streams_is_read_once(tmp_path):
    """`bzip2 -c part >> dump` of parts cut inside a <page> tag: a stream holding just 'ag' of
    it. The chunk whose blocks end in '<p' owns the page, however short the blocks after."""
    xml, tag = _big_page_xml()
    pieces = [xml[:tag - 300_000], xml[tag - 300_000:tag + 2], xml[tag + 2:tag + 4], xml[tag + 4:]]
    assert pieces[1].endswith(b"<p") and pieces[2] == b"ag"
    dump = tmp_path / "tiny-streams.xml.bz2"
    dump.write_bytes(b"".join(bz2.compress(p, 1) for p in pieces))
    assert bz2.decompress(dump.read_bytes()) == xml
    whole = pages_of(dump)
    for chunks in range(2, 12):
        assert [pg for chunk in chunk_pages(dump, chunks) for pg in chunk] == whole, chunks


def test_a_dump_whose_first_stream_is_empty_is_cut_like_any_other(tmp_path):
    """`bzip2 -c /dev/null > dump; bzip2 -c pages.xml >> dump`: a valid file bzcat reads."""
    xml = "".join(iter_dump_xml(20)).encode("utf-8")
    dump = tmp_path / "empty-first.xml.bz2"
    dump.write_bytes(bz2.compress(b"") + bz2.compress(b"") + bz2.compress(xml, 1))
    whole = pages_of(dump)
    assert len(whole) == 20 * 60
    for chunks in (1, 2, 5):
        assert plan_blocks(dump, chunks).starts[0] == (14 + 14 + 4) * 8  # two empty streams, a header
        assert [pg for chunk in chunk_pages(dump, chunks) for pg in chunk] == whole
    plan = tmp_path / "blocks.json"
    write_plan(dump, None, 3, plan)
    assert [pg for chunk in chunk_pages(dump, 3, plan) for pg in chunk] == whole


def test_what_follows_the_last_stream_is_read_as_bzip2_reads_it(tmp_path):
    xml = "".join(iter_dump_xml(12)).encode("utf-8")
    good = bz2.compress(xml, 1)
    truncated = tmp_path / "truncated-header.xml.bz2"
    truncated.write_bytes(good + b"BZh9")  # a second stream cut off in its header
    with pytest.raises(InputError, match=rf"truncated-header.xml.bz2: byte {len(good)}: truncated bz2 stream"):
        [pg for chunk in chunk_pages(truncated, 2) for pg in chunk]
    garbage = tmp_path / "garbage.xml.bz2"
    garbage.write_bytes(good + b"\0" * 100 + b"not bzip2")  # trailing data: ignored, as bzip2 does
    assert [pg for chunk in chunk_pages(garbage, 3) for pg in chunk] == pages_of(garbage)
    # a damaged second header: the rest is trailing data to bzip2, so the XML ends inside a page
    mid = len(xml) // 2
    damaged = tmp_path / "damaged-header.xml.bz2"
    damaged.write_bytes(bz2.compress(xml[:mid], 1) + b"BZx9" + bz2.compress(xml[mid:], 1)[4:])
    with pytest.raises(InputError, match="truncated XML"):
        pages_of(damaged)
    for chunks in (2, 3):  # the XML ends in a page, or a chunk starts in the stream cut off
        with pytest.raises(InputError, match="truncated XML|is not part of the dump's bz2 data"):
            chunk_pages(damaged, chunks)


def test_a_chunk_starting_in_data_appended_after_the_last_stream_is_refused(tmp_path):
    """A botched resumed download: part of the file appended to it. bzip2 ignores what follows
    the last stream when it is no stream; a chunk planned in there would read pages twice."""
    xml = "".join(iter_dump_xml(12)).encode("utf-8")
    good = bz2.compress(xml, 1)
    dump = tmp_path / "appended.xml.bz2"
    dump.write_bytes(good + good[30:])  # no stream header there: trailing data to bzip2
    (tmp_path / "good.xml.bz2").write_bytes(good)
    whole = pages_of(dump)
    assert whole == pages_of(tmp_path / "good.xml.bz2")
    refused = 0
    for chunks in range(2, 9):
        plan = plan_blocks(dump, chunks)
        try:
            assert [pg for chunk in chunk_pages(dump, chunks) for pg in chunk] == whole
        except InputError as err:
            refused += 1
            assert "is not part of the dump's bz2 data (the bz2 data ends at byte" in str(err)
            assert any(s >= len(good) * 8 for s in plan.starts), "refused only with a chunk in the appended part"
    assert refused
