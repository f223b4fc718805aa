"""Multistream dumps: each chunk reads only its own bz2 streams, and the corpus is the same."""

import bz2
import json
from pathlib import Path

import pytest

import prepsuite
from prepsuite.text.extract import chunk_paths, extract_dump, extract_multistream_chunk
from prepsuite.text.multistream import index_for, plan_chunks, read_stream_offsets
from prepsuite.text.sample import build_dump, build_multistream
from prepsuite.textio import InputError


def docs(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def multistream(tmp_path):
    return build_multistream(tmp_path / "zhwiki-test-pages-articles-multistream.xml.bz2",
                             repeat=3, pages_per_stream=7)


def test_bundled_pair_matches_the_generator(tmp_path):
    bundled = Path(prepsuite.sample_dump(multistream=True))
    dump, index = build_multistream(tmp_path / "x-multistream.xml.bz2", pages_per_stream=10)
    assert dump.read_bytes() == bundled.read_bytes()
    assert index.read_bytes() == index_for(bundled).read_bytes()


def test_multistream_is_a_valid_bz2_file_with_the_same_pages(multistream, tmp_path):
    dump, _ = multistream
    single = build_dump(tmp_path / "single.xml.bz2", repeat=3)
    assert bz2.decompress(dump.read_bytes()) == bz2.decompress(single.read_bytes())


def test_plan_covers_every_stream_once_in_order(multistream):
    dump, index = multistream
    offsets = read_stream_offsets(index)
    for chunks in (1, 2, 5, 40):
        plan = plan_chunks(dump, index, chunks)
        starts = [a for chunk in plan.chunks for a, _ in chunk]
        assert starts == offsets
        assert len(plan.chunks) == chunks
        assert plan.header == (0, offsets[0])


@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_chunks_merge_into_the_single_stream_extraction(multistream, tmp_path, chunks):
    dump, index = multistream
    single = build_dump(tmp_path / "single.xml.bz2", repeat=3)
    extract_dump(single, chunk_paths(tmp_path / "s", 1), processes=1)
    merged = []
    for k in range(chunks):
        out = tmp_path / "m" / f"{k}.jsonl"
        extract_multistream_chunk(dump, index, k, chunks, out)
        part = docs(out)
        assert [d["id"] for d in part] == sorted(d["id"] for d in part)
        merged += part
    assert sorted(merged, key=lambda d: d["id"]) == docs(tmp_path / "s" / "chunk-000.jsonl")


def test_a_chunk_never_touches_other_chunks_streams(multistream, tmp_path):
    dump, index = multistream
    plan = plan_chunks(dump, index, 3)
    data = bytearray(dump.read_bytes())
    for start, end in plan.chunks[2]:  # wreck chunk 3's streams
        stop = end if end >= 0 else len(data) - 40
        data[start + 10: stop] = b"\0" * (stop - start - 10)
    dump.write_bytes(bytes(data))
    out = tmp_path / "c0.jsonl"
    assert extract_multistream_chunk(dump, index, 0, 3, out).docs_out > 0
    with pytest.raises(InputError, match=str(dump)):
        extract_multistream_chunk(dump, index, 2, 3, tmp_path / "c2.jsonl")
    assert not (tmp_path / "c2.jsonl").exists()


def test_bad_index_lines_are_named(tmp_path, multistream):
    dump, _ = multistream
    bad = tmp_path / "bad-index.txt.bz2"
    bad.write_bytes(bz2.compress(b"100:1:A\nnot an index line\n"))
    with pytest.raises(InputError, match=r"bad-index.txt.bz2: line 2: expected 'byte_offset:page_id:title'"):
        read_stream_offsets(bad)
    beyond = tmp_path / "beyond-index.txt.bz2"
    beyond.write_bytes(bz2.compress(b"99999999:1:A\n"))
    with pytest.raises(InputError, match="lies beyond the end"):
        plan_chunks(dump, beyond, 2)


def test_cli_extracts_one_chunk_with_the_index_found_beside_the_dump(prep, multistream, tmp_path):
    dump, _ = multistream
    prep("extract", dump, tmp_path / "out", "--chunks", "4", "--chunk", "2",
         "--name-template", "chunk-{number}-of-{total}.jsonl")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["chunk-2-of-4.jsonl"]
    result = prep("extract", dump, tmp_path / "out", "--chunks", "4", "--chunk", "5", ok=False)
    assert "--chunk 5 is beyond --chunks 4" in result.output
